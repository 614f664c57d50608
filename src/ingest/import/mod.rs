//! Importing token usage (DESIGN §5): the CSV format of the token-usage
//! export, validated as a whole before anything is written, then stored in
//! one transaction with the rollups. Re-importing changes nothing: the
//! natural key (team, user, product, day, feature) deduplicates.
//!
//! `parse` reads and validates a file (no database); `write` stores charges.
//! The public API is here: callers name `crate::ingest::import::*` only.

mod parse;
mod write;

use chrono::NaiveDate;
use serde::Serialize;

use crate::db::Db;
use crate::domain::teams::Team;
use crate::error::Error;

pub use parse::parse_usage_csv;
pub use write::store_charges;

/// One charge as read from a file (or made by the demo generator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRow {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub product: String,
    pub product_version: String,
    pub feature: String,
    pub usage_date: NaiveDate,
    pub tokens: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file was rejected: {}", summarize(.0))]
    Rejected(Vec<LineError>),
    #[error(transparent)]
    Database(#[from] Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Database(e.into())
    }
}

fn summarize(errors: &[LineError]) -> String {
    let shown: Vec<String> = errors.iter().take(5).map(|e| format!("line {}: {}", e.line, e.message)).collect();
    let more = errors.len().saturating_sub(5);
    if more > 0 { format!("{}; and {more} more", shown.join("; ")) } else { shown.join("; ") }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Charges in the input.
    pub rows: u64,
    /// Charges written.
    pub inserted: u64,
    /// Charges already present (or repeated in the input) and skipped.
    pub duplicates: u64,
    /// Products that were not known before, by name.
    pub new_products: Vec<String>,
    /// Team users that were not known before.
    pub new_users: u64,
}

/// Parses `input` and stores it for `team`; nothing is written unless the
/// whole file is valid.
pub async fn import_usage_csv(db: &Db, team: &Team, input: &[u8]) -> Result<ImportOutcome, ImportError> {
    let rows = parse_usage_csv(input, team, team.today())?;
    store_charges(db, team.id, &rows).await
}
