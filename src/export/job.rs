//! Writing one recorded export to its file: into `<id>.<ext>.part`, renamed
//! to `<id>.<ext>` only when complete, so a half-written file is never
//! served. Progress and a heartbeat go to the export's row while it runs.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::history;
use super::sources::{ExportInput, expected_rows, write_rows};
use super::writer_thread::WriterThread;
use super::writers::{CsvSink, ExportMeta, RecordedTable, TableSink, WriteError, XlsxSink};
use super::{ExportFormat, ExportRecord, ExportReport, ExportStatus};
use crate::db::Db;
use crate::db::files::create_private_file;
use crate::domain::range::RangeQuery;
use crate::error::{Error, Result};
use crate::report::privacy::{Privacy, PseudonymKey};

/// How often a running export writes its progress and heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Bytes handed to a tap (the HTTP response of a one-click CSV) at a time.
const TAP_CHUNK: usize = 64 * 1024;

/// The directory export files live in.
#[derive(Clone, Debug)]
pub struct ExportFiles {
    dir: PathBuf,
}

impl ExportFiles {
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<ExportFiles> {
        let dir = dir.into();
        crate::db::files::create_private_dir(&dir)?;
        Ok(ExportFiles { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The complete file of export `id`.
    pub fn path(&self, id: i64, format: ExportFormat) -> PathBuf {
        self.dir.join(format!("{id}.{}", format.extension()))
    }

    /// Where attempt `attempt` writes export `id` until it is complete.
    pub fn temp_path(&self, id: i64, format: ExportFormat, attempt: i64) -> PathBuf {
        self.dir.join(format!("{id}.{}.{attempt}.part", format.extension()))
    }

    /// Removes the partial files of export `id` left by attempts before
    /// `attempt`: a process killed mid-write leaves its `.part` behind, and
    /// the next attempt is the first to know it was abandoned.
    pub fn remove_abandoned(&self, id: i64, format: ExportFormat, attempt: i64) -> io::Result<()> {
        for earlier in 1..attempt {
            remove_if_present(&self.temp_path(id, format, earlier))?;
        }
        Ok(())
    }

    /// Removes every file of an export, complete or partial (missing files are fine).
    pub fn remove(&self, id: i64, format: ExportFormat) -> io::Result<()> {
        let prefix = format!("{id}.{}", format.extension());
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == prefix || (name.starts_with(&format!("{prefix}.")) && name.ends_with(".part")) {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What an export job needs: the database, where files go, the key for
/// hashed user ids.
#[derive(Clone, Debug)]
pub struct ExportContext {
    pub db: Db,
    pub files: ExportFiles,
    pub key: PseudonymKey,
}

/// A finished export's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Receives the file's bytes as they are written (the body of a streamed
/// download), sent from the export's writer thread. Bounded: a slow reader
/// holds the writer back. When the receiver is gone the export fails.
pub type Tap = tokio::sync::mpsc::Sender<Vec<u8>>;

/// Everything written goes to the file, the hash and (if any) the tap.
struct FileWriter {
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    tap: Option<(Tap, Vec<u8>)>,
}

impl FileWriter {
    /// Runs on the writer thread (`WriterThread`): `blocking_send` may not
    /// run inside the runtime, which is where `finish` is called.
    fn send_tap(&mut self) -> io::Result<()> {
        if let Some((tap, pending)) = &mut self.tap
            && !pending.is_empty()
        {
            let chunk = std::mem::replace(pending, Vec::with_capacity(TAP_CHUNK));
            tap.blocking_send(chunk)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was cancelled"))?;
        }
        Ok(())
    }

    /// Called after the writer thread's last `flush`, which sent the tap its rest.
    fn finish(self) -> io::Result<(u64, String)> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all(buf)?;
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        if let Some((_, pending)) = &mut self.tap {
            pending.extend_from_slice(buf);
            if pending.len() >= TAP_CHUNK {
                self.send_tap()?;
            }
        }
        Ok(buf.len())
    }

    /// The writer thread's last call: the tap gets what is pending.
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.send_tap()
    }
}

fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// The input of a recorded export: its team, report and the range it was
/// recorded with (a resumed job writes the same dates).
pub async fn input_of(ctx: &ExportContext, record: &ExportRecord) -> Result<ExportInput> {
    let team = crate::domain::teams::team_by_id(&ctx.db, record.team_id).await?;
    let params = history::decode_params(&record.query)?;
    let range = RangeQuery {
        granularity: params.granularity.clone(),
        ..RangeQuery::custom(record.range_from, record.range_to)
    }
    .resolve(team.today().max(record.range_to))
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let privacy = Privacy::new(&ctx.key, &team);
    Ok(ExportInput { team, report: record.report, params, range, privacy })
}

/// Writes export `record` (already marked running) to its file and records
/// the outcome: done with rows, bytes and SHA-256, or failed with the reason
/// (the partial file is removed). Runs on a blocking thread: the writers are
/// synchronous and CPU-bound.
pub async fn run(ctx: &ExportContext, record: &ExportRecord, tap: Option<Tap>) -> Result<Written> {
    ctx.files.remove_abandoned(record.id, record.format, record.attempts).map_err(Error::Io)?;
    let progress = Arc::new(AtomicU64::new(0));
    let beat = {
        let (db, id, progress) = (ctx.db.clone(), record.id, progress.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let _ = history::heartbeat(&db, id, progress.load(Ordering::Relaxed), Utc::now()).await;
            }
        })
    };
    let outcome = {
        let (ctx, record, progress) = (ctx.clone(), record.clone(), progress.clone());
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || handle.block_on(write_file(&ctx, &record, tap, &progress)))
            .await
            .unwrap_or_else(|e| Err(Error::Task(e)))
    };
    beat.abort();
    let now = Utc::now();
    match &outcome {
        Ok(written) => {
            history::mark_done(&ctx.db, record.id, record.attempts, written, now).await?;
            // Deleted while it was written (personal data switched off, or
            // swept): its file must not stay behind, unlisted and unswept.
            if history::find(&ctx.db, record.id).await?.is_none() {
                ctx.files.remove(record.id, record.format)?;
                return Err(Error::NotFound(format!("export {}", record.id)));
            }
            tracing::info!(export = record.id, rows = written.rows, bytes = written.bytes, "export done");
        }
        Err(e) => {
            let _ = remove_if_present(&ctx.files.temp_path(record.id, record.format, record.attempts));
            history::mark_attempt_failed(&ctx.db, record.id, record.attempts, &failure_reason(e), now).await?;
            tracing::warn!(export = record.id, error = %e, "export failed");
        }
    }
    outcome
}

/// What the export history, the download and mails show of a failure: the
/// admin's own mistake in full, a server fault only as such (its detail is
/// in the log line above).
fn failure_reason(e: &Error) -> String {
    if e.is_user_error() { e.to_string() } else { "the export failed on the server".to_owned() }
}

async fn write_file(
    ctx: &ExportContext,
    record: &ExportRecord,
    tap: Option<Tap>,
    progress: &AtomicU64,
) -> Result<Written> {
    let input = input_of(ctx, record).await?;
    input.validate()?;
    history::set_personal_data(&ctx.db, record.id, !input.privacy.hides_names()).await?;

    // Rows are known before the header: counted for token usage (streamed),
    // computed whole for every other report.
    let recorded = if record.report == ExportReport::TokenUsage {
        None
    } else {
        let mut table = RecordedTable::default();
        write_rows(&ctx.db, &input, &mut table, progress).await?;
        Some(table)
    };
    let rows = match &recorded {
        Some(table) => table.len() as u64,
        None => expected_rows(&ctx.db, &input).await?,
    };
    history::set_expected_rows(&ctx.db, record.id, rows).await?;
    let mut meta = ExportMeta {
        report_title: record.report.title().to_owned(),
        team_name: input.team.name.clone(),
        team_slug: input.team.slug.clone(),
        from: input.range.from,
        to: input.range.to,
        time_zone: input.team.time_zone.clone(),
        generated_at: Utc::now(),
        rows,
    };

    let temp = ctx.files.temp_path(record.id, record.format, record.attempts);
    let (rows, bytes, sha256) = match record.format {
        ExportFormat::Csv => {
            let file = BufWriter::with_capacity(256 * 1024, create_private_file(&temp).map_err(Error::Io)?);
            let out = FileWriter {
                file,
                hasher: Sha256::new(),
                bytes: 0,
                tap: tap.map(|t| (t, Vec::with_capacity(TAP_CHUNK))),
            };
            let about = input.params.about().then_some(&meta);
            let mut sink = CsvSink::new(WriterThread::spawn(out).map_err(Error::Io)?, about).map_err(Error::Io)?;
            let rows = fill(ctx, &input, recorded.as_ref(), &mut sink, progress).await?;
            let (bytes, sha256) =
                sink.finish().and_then(WriterThread::finish).and_then(FileWriter::finish).map_err(Error::Io)?;
            (rows, bytes, sha256)
        }
        ExportFormat::Xlsx => {
            let mut sink = XlsxSink::new(record.report.title(), ctx.files.dir()).map_err(write_error)?;
            let rows = fill(ctx, &input, recorded.as_ref(), &mut sink, progress).await?;
            meta.rows = rows;
            // The writer truncates the file it finds, keeping this owner-only mode.
            create_private_file(&temp).map_err(Error::Io)?;
            sink.finish(&meta, &temp).map_err(write_error)?;
            let (bytes, sha256) = hash_file(&temp).map_err(Error::Io)?;
            (rows, bytes, sha256)
        }
    };
    std::fs::rename(&temp, ctx.files.path(record.id, record.format)).map_err(Error::Io)?;
    Ok(Written { rows, bytes, sha256 })
}

fn write_error(e: WriteError) -> Error {
    match e {
        WriteError::Io(e) => Error::Io(e),
        WriteError::Xlsx(e) => Error::Xlsx(e),
    }
}

async fn fill(
    ctx: &ExportContext,
    input: &ExportInput,
    recorded: Option<&RecordedTable>,
    sink: &mut dyn TableSink,
    progress: &AtomicU64,
) -> Result<u64> {
    match recorded {
        Some(table) => {
            table.replay(sink).map_err(Error::Io)?;
            Ok(table.len() as u64)
        }
        None => write_rows(&ctx.db, input, sink, progress).await,
    }
}

/// Deletes exports (file and record) whose retention ended by `now`, and
/// those with names of teams that hide them ([`purge_named`] missed none
/// after a crash or an upgrade); returns their ids.
pub async fn sweep(ctx: &ExportContext, now: chrono::DateTime<Utc>) -> Result<Vec<i64>> {
    let mut swept = purge_named(&ctx.db, &ctx.files, None).await?;
    for (id, format) in history::expired(&ctx.db, now).await? {
        ctx.files.remove(id, format)?;
        history::delete(&ctx.db, id).await?;
        swept.push(id);
    }
    Ok(swept)
}

/// Deletes the stored exports made while names were shown of `team_id` (or
/// of every team) whose personal data is now off: files, then records, so a
/// mailed or bookmarked link to them answers 404 (DESIGN §3.7).
pub async fn purge_named(db: &Db, files: &ExportFiles, team_id: Option<i64>) -> Result<Vec<i64>> {
    let mut purged = Vec::new();
    for (id, format) in history::named_of_hidden_teams(db, team_id).await? {
        files.remove(id, format)?;
        history::delete(db, id).await?;
        purged.push(id);
    }
    Ok(purged)
}

/// Marks failed the finished exports whose file is not in `files` (a backup
/// restored without its export files); returns how many.
pub async fn fail_missing_files(db: &Db, files: &ExportFiles) -> Result<u64> {
    let done: Vec<(i64, String)> =
        crate::db::on_db!(db, |pool| sqlx::query_as("SELECT id, format FROM exports WHERE status = 'done'")
            .fetch_all(pool)
            .await?);
    let mut failed = 0;
    for (id, format) in done {
        let Some(format) = ExportFormat::parse(&format) else { continue };
        if !files.path(id, format).is_file() {
            history::mark_failed(db, id, "the file was not restored with the backup", Utc::now()).await?;
            failed += 1;
        }
    }
    Ok(failed)
}

/// Whether an export's file may be served: done, and the file is there.
pub fn servable(ctx: &ExportContext, record: &ExportRecord) -> Option<PathBuf> {
    let path = ctx.files.path(record.id, record.format);
    (record.status == ExportStatus::Done && path.is_file()).then_some(path)
}
