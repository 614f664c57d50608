//! The Packs page's server functions: the team's packs, balance and token
//! events (both roles), and the primary admins' changes — add, correct and
//! void a pack, move tokens to another team they administer, adjust.
//! Every change is audited by the core in its transaction.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tokenboard::domain::model::TeamRef;
use tokenboard::report::views::TeamBalanceView;

use super::{TeamRequest, TeamScreen};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use {
    super::TeamContext,
    chrono::NaiveDate,
    tokenboard::domain::model::Role,
    tokenboard::domain::packs::{self, PackInput},
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PacksData {
    pub balance: TeamBalanceView,
    /// Other teams the viewer is a primary admin of: where tokens may move.
    pub move_targets: Vec<TeamRef>,
}

#[server(endpoint = "packs", input = leptos::server_fn::codec::Json, output = crate::api::wire::Answer)]
pub async fn load_packs(request: TeamRequest) -> Result<TeamScreen<PacksData>, AppError> {
    let cx = TeamContext::open(&request.team, Role::Secondary).await?;
    let balance = tokenboard::report::screens::team_balance(&cx.db, &cx.team, cx.role).await?;
    let move_targets = if cx.role == Role::Primary {
        cx.viewer.teams.iter().filter(|t| t.role == Role::Primary && t.slug != cx.team.slug).cloned().collect()
    } else {
        Vec::new()
    };
    cx.screen(PacksData { balance, move_targets }).await
}

#[cfg(feature = "ssr")]
fn date(what: &str, text: &str) -> Result<NaiveDate, AppError> {
    text.trim().parse().map_err(|_| AppError::BadRequest(format!("{what} {text:?} is not a date (YYYY-MM-DD)")))
}

#[cfg(feature = "ssr")]
fn whole(what: &str, text: &str) -> Result<i64, AppError> {
    let text = text.trim().replace([',', ' ', '_'], "");
    text.parse().map_err(|_| AppError::BadRequest(format!("{what} {text:?} is not a whole number")))
}

/// Adds a pack, or corrects pack `pack` when it names one. `expires_on`
/// empty: one year after the purchase.
#[server(endpoint = "pack_save")]
pub async fn save_pack(
    team: String,
    pack: String,
    tokens: String,
    purchased_on: String,
    expires_on: String,
    order_ref: String,
) -> Result<String, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let input = PackInput {
        tokens: whole("tokens", &tokens)?,
        purchased_on: date("purchase date", &purchased_on)?,
        expires_on: if expires_on.trim().is_empty() { None } else { Some(date("expiry", &expires_on)?) },
        order_ref,
    };
    if pack.trim().is_empty() {
        let pack = packs::create_pack(&cx.db, &cx.team, &input, &cx.actor).await?;
        Ok(format!("Pack #{} added: {} tokens until {}.", pack.id, pack.tokens, pack.expires_on))
    } else {
        let pack = packs::edit_pack(&cx.db, &cx.team, whole("pack", &pack)?, &input, &cx.actor).await?;
        Ok(format!(
            "Pack #{} corrected: {} tokens, {} to {}.",
            pack.id, pack.tokens, pack.purchased_on, pack.expires_on
        ))
    }
}

#[server(endpoint = "pack_void")]
pub async fn void_pack(team: String, pack: i64) -> Result<String, AppError> {
    let cx = TeamContext::primary(&team).await?;
    packs::void_pack(&cx.db, &cx.team, pack, &cx.actor).await?;
    Ok(format!("Pack #{pack} voided."))
}

/// Moves tokens of one of `team`'s packs to `to`; the caller must be a
/// primary admin of both.
#[server(endpoint = "tokens_move")]
pub async fn move_tokens(team: String, to: String, pack: i64, tokens: String) -> Result<String, AppError> {
    let from = TeamContext::primary(&team).await?;
    let target = TeamContext::primary(&to).await?;
    let tokens = whole("tokens", &tokens)?;
    let moved = packs::move_tokens(&from.db, &from.team, &target.team, pack, tokens, &from.actor).await?;
    Ok(format!(
        "{tokens} tokens moved to {} (their pack #{}, expires {}).",
        target.team.name, moved.id, moved.expires_on
    ))
}

/// A manual adjustment today: `tokens` > 0 adds to `pack` (empty: the
/// active pack that expires last), < 0 removes in the consumption order.
#[server(endpoint = "tokens_adjust")]
pub async fn adjust_tokens(team: String, tokens: String, pack: String, reason: String) -> Result<String, AppError> {
    let cx = TeamContext::primary(&team).await?;
    let tokens = whole("tokens", &tokens)?;
    let pack = if pack.trim().is_empty() { None } else { Some(whole("pack", &pack)?) };
    packs::adjust_tokens(&cx.db, &cx.team, tokens, pack, &reason, &cx.actor).await?;
    Ok(format!("Adjustment of {tokens:+} tokens recorded."))
}
