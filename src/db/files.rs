//! Files and directories only the server's own user may read (issue 10
//! item 10): the database, the secret, export files and their directories.
//! The server also sets its umask to 0o077 at start; these explicit modes
//! keep the rule where the library is used without that (tests, embedders).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` and missing parents as 0700 (existing ones keep their mode).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Creates or truncates `path` for writing; a new file is 0600.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

/// Removes a SQLite database file with its `-wal` and `-shm` files, those
/// that exist.
pub fn remove_sqlite_database(path: &Path) -> io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        match std::fs::remove_file(format!("{}{suffix}", path.display())) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
