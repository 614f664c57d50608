//! Importing token usage (DESIGN §5): the vendor's files as they are handed
//! out (CSV with `,` or `;`, `.xlsx`; its header names and date forms) and
//! Tokenboard's own token-usage export. A file is validated row by row while
//! it streams into one transaction; any bad row rejects it whole. Rows of
//! one key in a file add up; a key stored with other tokens is corrected;
//! every import is recorded and can be undone.
//!
//! `records` reads containers, `dates` date forms, `parse` validates rows,
//! `write` merges charges (`keys`: the keys it writes and the rollups
//! tallied from them; `new_days`: SQLite's keys of days that held no
//! charge, written straight into the charges; `raw_sqlite`: SQLite's
//! per-key statements), `history` keeps and undoes imports. The public
//! API is here: callers name `crate::ingest::import::*` only.

mod dates;
mod history;
mod keys;
mod new_days;
mod parse;
mod raw_sqlite;
mod records;
mod write;

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use chrono::{NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::domain::teams::Team;
use crate::error::Error;

pub use crate::domain::imports::{
    Freshness, ImportOutcome, ImportRecord, ImportSource, ImportStatus, LineError, MAX_LISTED_NEW_USERS, UndoOutcome,
};
pub use dates::DateFormat;
pub use history::{find_import, freshness, list_imports, undo_import};
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

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file's bad rows; nothing was written. The second field is the
    /// rejection's id in the import history.
    #[error("the file was rejected: {}", summarize(.0))]
    Rejected(Vec<LineError>, Option<i64>),
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

/// Who imports what, and how its slash dates read.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub source: ImportSource,
    /// The admin's e-mail, the API key's label, or "command line".
    pub actor: String,
    /// The file's name as its sender gave it (shown in the history).
    pub file_name: String,
    /// `--date-format`: how slash dates read, when the file does not show it.
    pub date_format: Option<DateFormat>,
    /// The server's key: with it, rows of an erased person's e-mail go to
    /// the erased user instead of creating them again.
    pub erased_key: Option<crate::report::privacy::PseudonymKey>,
}

impl ImportRequest {
    pub fn command_line(file_name: &str) -> ImportRequest {
        ImportRequest {
            source: ImportSource::Cli,
            actor: "command line".into(),
            file_name: file_name.into(),
            date_format: None,
            erased_key: None,
        }
    }
}

/// How far an import is: charges read so far, and the bytes of a CSV
/// behind them (a sheet is read whole first: `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub rows: u64,
    pub bytes: Option<u64>,
}

/// Charges read per chunk: bounded memory however large the file.
const CHUNK_ROWS: usize = 20_000;

/// Imports the file at `path` (CSV or `.xlsx`) for `team`. It is read a few
/// times (hash, date order, rows) and never held whole in memory.
pub async fn import_usage_file(
    db: &Db,
    team: &Team,
    path: &Path,
    request: &ImportRequest,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
) -> Result<ImportOutcome, ImportError> {
    let open = || std::fs::File::open(path).map_err(Error::Io);
    import_usage(db, team, open, request, progress, ReadAhead::start).await
}

/// Imports a file held in memory (small uploads, tests).
pub async fn import_usage_bytes(
    db: &Db,
    team: &Team,
    input: &[u8],
    request: &ImportRequest,
) -> Result<ImportOutcome, ImportError> {
    import_usage(db, team, || Ok(Cursor::new(input)), request, &mut |_| {}, FileCharges).await
}

/// Imports CSV or `.xlsx` bytes as the command line would (tests).
pub async fn import_usage_csv(db: &Db, team: &Team, input: &[u8]) -> Result<ImportOutcome, ImportError> {
    import_usage_bytes(db, team, input, &ImportRequest::command_line("(bytes)")).await
}

async fn import_usage<R: Read + Seek + Send, S: RowSource<R>>(
    db: &Db,
    team: &Team,
    open: impl Fn() -> Result<R, Error>,
    request: &ImportRequest,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
    source: impl FnOnce(parse::UsageRows<R>) -> S,
) -> Result<ImportOutcome, ImportError> {
    let started = std::time::Instant::now();
    let imported = import_unmeasured(db, team, open, request, progress, source).await;
    let outcome = match &imported {
        Ok(outcome) => {
            metrics::counter!("tokenboard_import_rows_total").increment(outcome.rows);
            "done"
        }
        Err(ImportError::Rejected(..)) => "rejected",
        Err(ImportError::Database(_)) => "failed",
    };
    metrics::counter!("tokenboard_imports_total", "outcome" => outcome).increment(1);
    metrics::histogram!("tokenboard_import_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    imported
}

async fn import_unmeasured<R: Read + Seek + Send, S: RowSource<R>>(
    db: &Db,
    team: &Team,
    open: impl Fn() -> Result<R, Error>,
    request: &ImportRequest,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
    source: impl FnOnce(parse::UsageRows<R>) -> S,
) -> Result<ImportOutcome, ImportError> {
    let draft = history::ImportRecordDraft {
        created_at: Utc::now(),
        source: request.source,
        actor: request.actor.clone(),
        file_name: request.file_name.clone(),
        sha256: sha256_of(open()?)?,
    };
    let reject = async |errors: Vec<LineError>| -> ImportError {
        match history::record_rejected(db, team.id, &draft, &errors).await {
            Ok(id) => ImportError::Rejected(errors, Some(id)),
            Err(e) => ImportError::Database(e),
        }
    };
    let opened = parse::slash_order_of(open()?, request.date_format)
        .and_then(|order| parse::UsageRows::open(open()?, team, team.today(), order));
    let rows = match opened {
        Ok(rows) => rows,
        Err(ImportError::Rejected(errors, _)) => return Err(reject(errors).await),
        Err(e) => return Err(e),
    };
    let mut source = source(rows);
    let history = write::History { draft: &draft, erased_key: request.erased_key.as_ref() };
    let written = write::write_charges(db, team.id, Some(history), &mut source, progress).await?;
    match (source.finish().await, written) {
        (Ok(()), Some(written)) => Ok(written.outcome),
        (Err(ImportError::Rejected(errors, _)), _) => Err(reject(errors).await),
        (Err(e), _) => Err(e),
        (Ok(()), None) => unreachable!("the source reported no failure"),
    }
}

/// The rows of a file as the writer takes them, and the file's verdict
/// once they are all read.
trait RowSource<R>: write::ChargeSource {
    fn finish(self) -> impl std::future::Future<Output = Result<(), ImportError>> + Send;
}

/// The rows of a file parsed as the writer asks for them (files in memory).
struct FileCharges<R: Read>(parse::UsageRows<R>);

impl<R: Read + Send> write::ChargeSource for FileCharges<R> {
    async fn next_chunk(&mut self) -> Vec<ChargeRow> {
        self.0.next_chunk(CHUNK_ROWS)
    }

    fn failed(&self) -> bool {
        self.0.has_problems()
    }

    fn bytes_read(&self) -> Option<u64> {
        self.0.bytes_read()
    }
}

impl<R: Read + Send> RowSource<R> for FileCharges<R> {
    async fn finish(self) -> Result<(), ImportError> {
        self.0.finish()
    }
}

/// The rows of a file parsed on a thread of their own, a chunk ahead of the
/// writer, so that parsing and writing overlap (a year's file spent about a
/// quarter of its import parsing, while the database waited).
struct ReadAhead<R: Read> {
    /// Each chunk as the parser left it; an empty chunk ends the file.
    chunks: tokio::sync::mpsc::Receiver<Parsed>,
    /// The chunk received last.
    last: Parsed,
    /// The parser stopped before the end of the file (it panicked, or the
    /// runtime shut down): what was read must not be written as if whole.
    parser_lost: bool,
    parser: tokio::task::JoinHandle<parse::UsageRows<R>>,
}

/// A chunk of rows, with what the parser knew once it had read them.
#[derive(Default)]
struct Parsed {
    rows: Vec<ChargeRow>,
    /// A row so far was refused.
    failed: bool,
    /// Bytes of a CSV read so far (a sheet: none).
    bytes_read: Option<u64>,
}

impl<R: Read + Send + 'static> ReadAhead<R> {
    fn start(mut rows: parse::UsageRows<R>) -> ReadAhead<R> {
        let (send, chunks) = tokio::sync::mpsc::channel(1);
        let parser = tokio::task::spawn_blocking(move || {
            loop {
                let chunk = rows.next_chunk(CHUNK_ROWS);
                let end = chunk.is_empty();
                let parsed = Parsed { rows: chunk, failed: rows.has_problems(), bytes_read: rows.bytes_read() };
                // An error in the writer drops the receiver: nobody reads the rest.
                if send.blocking_send(parsed).is_err() || end {
                    break;
                }
            }
            rows
        });
        ReadAhead { chunks, last: Parsed::default(), parser_lost: false, parser }
    }
}

impl<R: Read + Send + 'static> write::ChargeSource for ReadAhead<R> {
    async fn next_chunk(&mut self) -> Vec<ChargeRow> {
        match self.chunks.recv().await {
            Some(parsed) => {
                self.last = parsed;
                std::mem::take(&mut self.last.rows)
            }
            // Closed without the empty chunk that ends the file.
            None => {
                self.parser_lost = true;
                Vec::new()
            }
        }
    }

    fn failed(&self) -> bool {
        self.parser_lost || self.last.failed
    }

    fn bytes_read(&self) -> Option<u64> {
        self.last.bytes_read
    }
}

impl<R: Read + Send + 'static> RowSource<R> for ReadAhead<R> {
    async fn finish(self) -> Result<(), ImportError> {
        drop(self.chunks);
        let rows = self.parser.await.map_err(Error::from)?;
        rows.finish()
    }
}

fn sha256_of(mut input: impl Read) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
