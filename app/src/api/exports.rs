//! The export history's server function (downloads are plain routes of the
//! server crate).

use leptos::prelude::*;
use tokenboard::export::ExportRecord;

use super::{TeamRequest, TeamScreen};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {super::TeamContext, tokenboard::domain::model::Role};

/// The export history of a team, newest first.
#[server(endpoint = "exports", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_exports(request: TeamRequest) -> Result<TeamScreen<Vec<ExportRecord>>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let data = tokenboard::export::history::list(&cx.db, cx.team.id).await?;
    cx.screen(data).await
}
