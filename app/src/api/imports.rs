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
    /// New users' e-mails may be shown (personal data on).
    pub personal_data: bool,
}

#[server(endpoint = "imports", input = leptos::server_fn::codec::Json)]
pub async fn load_imports(request: TeamRequest) -> Result<TeamScreen<ImportsData>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let imports = tokenboard::ingest::import::list_imports(&cx.db, cx.team.id, LISTED_IMPORTS).await?;
    let data = ImportsData {
        imports,
        max_upload_bytes: crate::session::state()?.max_upload_bytes as u64,
        personal_data: cx.team.personal_data,
    };
    Ok(cx.screen(data))
}

/// Takes an import back (primary admins); audited.
#[server(endpoint = "import_undo")]
pub async fn undo_import(team: String, id: i64) -> Result<UndoOutcome, AppError> {
    let cx = TeamContext::primary(&team).await?;
    Ok(tokenboard::ingest::import::undo_import(&cx.db, cx.team.id, id, &cx.actor).await?)
}
