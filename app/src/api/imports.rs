//! The Imports page's server functions: the history (both roles) and undo
//! (primary admins). The upload itself is a plain route of the server crate
//! (a multipart form that works without JavaScript).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::domain::imports::{ImportRecord, UndoOutcome};

use super::{TeamRequest, TeamScreen};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {super::TeamContext, tokenboard::domain::model::Role};

/// Imports listed on the page.
pub const LISTED_IMPORTS: i64 = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportsData {
    /// Newest first.
    pub imports: Vec<ImportRecord>,
    /// The largest file an upload may be (`TOKENBOARD_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
}

#[server(endpoint = "imports", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_imports(request: TeamRequest) -> Result<TeamScreen<ImportsData>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let mut imports = tokenboard::ingest::import::list_imports(&cx.db, cx.team.id, LISTED_IMPORTS).await?;
    for error in imports.iter_mut().flat_map(|import| import.errors.iter_mut()) {
        error.message = shown_message(&error.message, cx.team.personal_data);
    }
    let data = ImportsData { imports, max_upload_bytes: crate::session::state()?.max_upload_bytes as u64 };
    cx.screen(data).await
}

/// Takes an import back (primary admins); audited.
#[server(endpoint = "import_undo")]
pub async fn undo_import(team: String, id: i64) -> Result<UndoOutcome, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let outcome = tokenboard::ingest::import::undo_import(&cx.db, cx.team.id, id, &cx.actor).await?;
    tokenboard::report::index::refresh_in_background(&cx.db, cx.team.id);
    Ok(outcome)
}

#[cfg(feature = "ssr")]
/// A bad line's message as the page gets it: while the team's personal
/// data is off, the values it quotes (names, e-mails) are masked — in the
/// page and in the data it is hydrated from.
fn shown_message(message: &str, personal_data: bool) -> String {
    if personal_data {
        return message.to_owned();
    }
    let mut shown = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            if !quoted {
                shown.push_str("\"*****");
            }
            quoted = !quoted;
        }
        if !quoted {
            shown.push(c);
        }
    }
    shown
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::shown_message;

    #[test]
    fn quoted_values_are_masked_while_personal_data_is_off() {
        let message = "email \"ann@x.com\" is not an e-mail address";
        assert_eq!(shown_message(message, true), message);
        assert_eq!(shown_message(message, false), "email \"*****\" is not an e-mail address");
        assert_eq!(
            shown_message("negative tokens (-3) are not allowed", false),
            "negative tokens (-3) are not allowed"
        );
    }
}
