//! Uploaded files land in a private temporary file as they arrive, counted
//! against `TOKENBOARD_MAX_UPLOAD_BYTES`: an upload of any size costs a
//! buffer of memory, and one past the limit stops at the limit. The file is
//! deleted when its handle is dropped, whatever happens to the import.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use tempfile::NamedTempFile;

/// Why an upload was not spooled.
#[derive(Debug)]
pub enum SpoolError {
    /// Past the limit (bytes): 413.
    TooLarge(usize),
    /// The client's body broke off: 400.
    Body(String),
    /// Our disk: 500.
    Disk(std::io::Error),
}

impl SpoolError {
    pub fn message(&self) -> String {
        match self {
            SpoolError::TooLarge(limit) => {
                format!("the file is larger than the upload limit of {} (TOKENBOARD_MAX_UPLOAD_BYTES)", size(*limit))
            }
            SpoolError::Body(e) => format!("the upload broke off: {e}"),
            SpoolError::Disk(_) => "the upload could not be stored on the server".into(),
        }
    }
}

/// `12.5 MB`, for messages.
pub fn size(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Where uploads are spooled: next to the exports, on the data disk.
pub fn upload_dir(exports_dir: &Path) -> PathBuf {
    exports_dir.with_file_name("uploads")
}

/// Writes `chunks` to a new private file in `dir`, at most `limit` bytes.
pub async fn spool<S, E>(mut chunks: S, dir: &Path, limit: usize) -> Result<(NamedTempFile, u64), SpoolError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    tokenboard::db::files::create_private_dir(dir).map_err(SpoolError::Disk)?;
    let mut file = tempfile::Builder::new().prefix("upload-").tempfile_in(dir).map_err(SpoolError::Disk)?;
    let mut written = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| SpoolError::Body(e.to_string()))?;
        written += chunk.len();
        if written > limit {
            return Err(SpoolError::TooLarge(limit));
        }
        // Small synchronous writes to a local file: cheaper than a thread hop per chunk.
        file.write_all(&chunk).map_err(SpoolError::Disk)?;
    }
    file.flush().map_err(SpoolError::Disk)?;
    Ok((file, written as u64))
}
