//! Imports as the Imports page, the API and the command line show them:
//! what one import did, its bad lines, and the history with its undo.
//! Shared with the browser; the import itself is `crate::ingest::import`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How a file came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    /// The Imports page.
    Upload,
    /// `POST /api/v1/teams/{team}/usage` with a team API key.
    Api,
    /// `tokenboard import usage`.
    Cli,
}

impl ImportSource {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn title(self) -> &'static str {
        match self {
            ImportSource::Upload => "upload",
            ImportSource::Api => "API",
            ImportSource::Cli => "command line",
        }
    }
}

/// One bad row of a rejected file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The file's line (CSV) or sheet row (Excel).
    pub line: u64,
    pub message: String,
}

/// Most new users' e-mails an import result lists (the count is complete).
pub const MAX_LISTED_NEW_USERS: usize = 50;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The import's id in the history (`None`: written without history).
    pub import_id: Option<i64>,
    /// Charges in the input (before rows of one key were added up).
    pub rows: u64,
    /// Keys that were not stored before.
    pub inserted: u64,
    /// Keys stored with other tokens: corrections, which replaced them.
    pub updated: u64,
    /// Keys stored with the same tokens: nothing to do.
    pub unchanged: u64,
    /// Products that were not known before, by name.
    pub new_products: Vec<String>,
    /// Team users that were not known before.
    pub new_users: u64,
    /// The first [`MAX_LISTED_NEW_USERS`] of them.
    pub new_user_emails: Vec<String>,
}

/// Whether a recorded import was stored or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Done,
    Rejected,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One row of `/teams/{team}/imports`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub source: ImportSource,
    /// The admin's e-mail, the API key's label, or "command line".
    pub actor: String,
    pub file_name: String,
    pub sha256: String,
    pub status: ImportStatus,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub new_products: Vec<String>,
    pub new_users: u64,
    /// A rejected file's bad lines.
    pub errors: Vec<LineError>,
    pub undone: Option<UndoneBy>,
    /// Charges this import still owns: what an undo would take back.
    pub owned: u64,
}

impl ImportRecord {
    /// Whether an undo would do something.
    pub fn can_undo(&self) -> bool {
        self.status == ImportStatus::Done && self.undone.is_none() && self.inserted + self.updated > 0
    }

    /// Charges a later import overwrote: an undo leaves them as they are.
    pub fn overwritten(&self) -> u64 {
        (self.inserted + self.updated).saturating_sub(self.owned)
    }
}

/// When and by whom an import was undone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoneBy {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// Charges a later import had overwritten, left as they were.
    pub kept: u64,
}

/// What an undo did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoOutcome {
    /// Charges the import had added, now removed.
    pub removed: u64,
    /// Charges the import had corrected, back to their previous tokens.
    pub restored: u64,
    /// Charges a later import had overwritten, left as they are.
    pub kept: u64,
}

/// How fresh a team's numbers are: "Data through … · last import …".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// The newest usage day (`None`: no usage yet).
    pub data_through: Option<NaiveDate>,
    pub last_import: Option<LastImport>,
    pub stale_after_days: u32,
    /// The newest usage day is older than `stale_after_days` before today.
    pub stale: bool,
}

impl Freshness {
    pub fn new(
        data_through: Option<NaiveDate>,
        last_import: Option<LastImport>,
        stale_after_days: u32,
        today: NaiveDate,
    ) -> Freshness {
        let stale = data_through.is_some_and(|d| (today - d).num_days() > i64::from(stale_after_days));
        Freshness { data_through, last_import, stale_after_days, stale }
    }
}

/// The newest import that wrote usage (not rejected, not undone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastImport {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub source: ImportSource,
}
