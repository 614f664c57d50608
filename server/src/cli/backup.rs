//! `tokenboard backup`, `restore` and `migrate --check`: what an operator
//! needs to keep a server for years. A backup is one `.tar.gz`: a consistent
//! copy of the SQLite database (taken while the server runs), the data
//! directory's secret (without it, hashed user ids and erased people's rows
//! would not match any more) and, with `--with-exports`, the export files.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use tokenboard::Db;

use super::open_db;
use crate::config::{Config, redact_secrets_of, redact_url};

const DATABASE_ENTRY: &str = "tokenboard.db";
const SECRET_ENTRY: &str = "secret";
const EXPORTS_DIR: &str = "exports/";
const MANIFEST_ENTRY: &str = "manifest.json";

/// Connects without migrating (a check or a backup must not change the database).
async fn connect(config: &Config) -> Result<Db> {
    let url = &config.database_url;
    Db::connect(url).await.map_err(|e| {
        anyhow::anyhow!("cannot open the database {:?}: {}", redact_url(url), redact_secrets_of(url, &e.to_string()))
    })
}

/// `migrate --check`: lists what `migrate` would apply; fails (exit 1) when
/// something would, so a deployment script can stop before it.
pub(super) async fn check_migrations(config: &Config) -> Result<()> {
    let db = connect(config).await?;
    db.refuse_newer().await?;
    let pending = db.pending_migrations().await?;
    if pending.is_empty() {
        println!("database is up to date");
        return Ok(());
    }
    println!("{} migration(s) would run:", pending.len());
    for migration in &pending {
        println!("  {:04} {}", migration.version, migration.description);
    }
    bail!("the database needs `tokenboard migrate`")
}

pub(super) async fn backup(config: &Config, archive: &Path, with_exports: bool) -> Result<()> {
    if archive.exists() {
        bail!("{} exists already; choose a new file", archive.display());
    }
    let db = connect(config).await?;
    let scratch =
        tempfile::tempdir_in(archive.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
            .context("cannot create a scratch directory beside the archive")?;
    let copy = scratch.path().join(DATABASE_ENTRY);
    db.copy_into(&copy).await?;
    let migrations = db.pending_migrations().await?.len();

    let partial = archive.with_extension("partial");
    let mut tar = tar::Builder::new(GzEncoder::new(
        File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?,
        Compression::default(),
    ));
    tar.append_path_with_name(&copy, DATABASE_ENTRY)?;
    let secret = config.data_dir.join("secret");
    let secret_included = secret.is_file();
    if secret_included {
        tar.append_path_with_name(&secret, SECRET_ENTRY)?;
    }
    let mut exports = 0;
    if with_exports && config.exports_dir().is_dir() {
        for entry in std::fs::read_dir(config.exports_dir())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // Finished files only: a `.part` is an attempt under way.
            if entry.file_type()?.is_file() && !name.ends_with(".part") {
                tar.append_path_with_name(entry.path(), format!("{EXPORTS_DIR}{name}"))?;
                exports += 1;
            }
        }
    }
    let manifest = serde_json::json!({
        "tokenboard": env!("CARGO_PKG_VERSION"),
        "created_at": chrono::Utc::now().to_rfc3339(),
        "secret_included": secret_included,
        "export_files": exports,
        "pending_migrations": migrations,
    });
    let manifest = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST_ENTRY, manifest.as_slice())?;
    tar.into_inner()?.finish()?.sync_all()?;
    std::fs::rename(&partial, archive)?;

    println!("backup written to {}", archive.display());
    println!("  database: consistent copy of {}", redact_url(&config.database_url));
    if secret_included {
        println!("  secret: included (keep the archive as private as the data directory)");
    } else {
        println!("  secret: not in the data directory (TOKENBOARD_SECRET is set): keep it with the backup");
    }
    println!("  export files: {exports}");
    Ok(())
}

pub(super) async fn restore(config: &Config, archive: &Path) -> Result<()> {
    let Some(database) = tokenboard::db::sqlite_file(&config.database_url) else {
        bail!("restore writes SQLite databases; restore PostgreSQL with pg_restore, then the secret by hand");
    };
    // Into empty places only: a restore never mixes with data already there.
    if std::fs::metadata(&database).is_ok_and(|m| m.len() > 0) {
        bail!("{} exists; restore into an empty place (move it away first)", database.display());
    }
    // SQLite would replay an old journal onto the restored file.
    for suffix in ["-wal", "-shm", "-journal"] {
        let journal = PathBuf::from(format!("{}{suffix}", database.display()));
        if journal.exists() {
            bail!("{} exists; move it away with the database it belongs to", journal.display());
        }
    }
    let secret = config.data_dir.join("secret");
    if secret.exists() {
        bail!("{} exists; restore into an empty data directory", secret.display());
    }
    let exports_dir = config.exports_dir();
    if std::fs::read_dir(&exports_dir).is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} is not empty; restore into an empty data directory", exports_dir.display());
    }
    tokenboard::db::files::create_private_dir(&config.data_dir)?;
    let scratch = tempfile::tempdir_in(&config.data_dir)?;

    // Only the entries a backup writes, each to its own place: a crafted
    // archive cannot write anywhere else.
    let mut tar = tar::Archive::new(GzDecoder::new(
        File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?,
    ));
    let (mut has_database, mut exports) = (false, Vec::new());
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let target: PathBuf = match name.as_str() {
            DATABASE_ENTRY => {
                has_database = true;
                scratch.path().join(DATABASE_ENTRY)
            }
            SECRET_ENTRY => scratch.path().join(SECRET_ENTRY),
            MANIFEST_ENTRY => continue,
            _ => match name.strip_prefix(EXPORTS_DIR) {
                Some(file) if is_plain_file_name(file) => {
                    exports.push(file.to_owned());
                    scratch.path().join(file)
                }
                _ => bail!("{} is not a Tokenboard backup: unexpected entry {name:?}", archive.display()),
            },
        };
        let mut out = private_file(&target)?;
        std::io::copy(&mut (&mut entry).take(u64::MAX), &mut out)?;
        out.flush()?;
    }
    if !has_database {
        bail!("{} is not a Tokenboard backup: it holds no database", archive.display());
    }

    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokenboard::db::files::create_private_dir(dir)?;
    }
    move_file(&scratch.path().join(DATABASE_ENTRY), &database)?;
    if scratch.path().join(SECRET_ENTRY).exists() {
        move_file(&scratch.path().join(SECRET_ENTRY), &secret)?;
    }
    if !exports.is_empty() {
        tokenboard::db::files::create_private_dir(&exports_dir)?;
        for file in &exports {
            move_file(&scratch.path().join(file), &exports_dir.join(file))?;
        }
    }
    // A backup of an older release is upgraded like any database.
    let db = open_db(config).await?;
    let files = tokenboard::export::job::ExportFiles::new(&exports_dir)?;
    let missing = tokenboard::export::job::fail_missing_files(&db, &files).await?;
    println!("restored {} into {}", archive.display(), database.display());
    println!("  export files: {}", exports.len());
    if missing > 0 {
        println!("  {missing} finished export(s) had no file in the backup: marked failed");
    }
    Ok(())
}

fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// Renames, or copies then removes across file systems.
fn move_file(from: &Path, to: &Path) -> Result<()> {
    if std::fs::rename(from, to).is_err() {
        let mut out = private_file(to).with_context(|| format!("cannot create {}", to.display()))?;
        std::io::copy(&mut File::open(from)?, &mut out)?;
        out.sync_all()?;
        std::fs::remove_file(from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenboard::domain::range::{RangePreset, RangeQuery};
    use tokenboard::ingest::demo::{self, DemoOptions};
    use tokenboard::report::{Dimension, Metric, ReportQuery, ReportResult};

    fn config_in(dir: &Path) -> Config {
        let mut config = crate::http::tests::config(4096);
        config.data_dir = dir.join("data");
        config.database_url = format!("sqlite://{}", dir.join("data/tokenboard.db").display());
        config.secret = None;
        config
    }

    async fn by_product(db: &Db) -> ReportResult {
        let team = tokenboard::domain::teams::all_teams(db).await.unwrap().remove(0);
        let range = RangeQuery::preset(RangePreset::Days30).resolve(team.today()).unwrap();
        let query = ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Users]).by(Dimension::Product);
        tokenboard::report::plan::run(db, &query).await.unwrap()
    }

    /// The archive holds what a server needs to carry on elsewhere: the
    /// database, the secret (hashed user ids stay the same) and the export
    /// files; it restores into an empty place only, and a crafted archive
    /// writes nothing outside it.
    #[tokio::test]
    async fn a_backup_restores_into_an_empty_place_with_its_secret_and_exports() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let config = config_in(here.path());
        let db = open_db(&config).await.unwrap();
        let end = chrono::Utc::now().date_naive();
        let options = DemoOptions { teams: 1, users: 20, products: 4, days: 30, seed: 5, end_date: end };
        demo::generate(&db, &options).await.unwrap();
        let key = config.pseudonym_key().unwrap();
        std::fs::create_dir_all(config.exports_dir()).unwrap();
        std::fs::write(config.exports_dir().join("1.csv"), "Team,Tokens\nDesign,5\n").unwrap();
        std::fs::write(config.exports_dir().join("2.csv.1.part"), "half").unwrap();
        let before = by_product(&db).await;

        let archive = here.path().join("backup.tar.gz");
        backup(&config, &archive, true).await.unwrap();
        let again = backup(&config, &archive, true).await.unwrap_err().to_string();
        assert!(again.contains("exists"), "{again}");

        let restored = config_in(there.path());
        restore(&restored, &archive).await.unwrap();
        let copy = open_db(&restored).await.unwrap();
        assert_eq!(by_product(&copy).await, before);
        assert_eq!(restored.pseudonym_key().unwrap().user_id(1, 2), key.user_id(1, 2), "the same secret");
        let file = std::fs::read_to_string(restored.exports_dir().join("1.csv")).unwrap();
        assert_eq!(file, "Team,Tokens\nDesign,5\n");
        assert!(!restored.exports_dir().join("2.csv.1.part").exists(), "an attempt under way is not backed up");
        let twice = restore(&restored, &archive).await.unwrap_err().to_string();
        assert!(twice.contains("exists"), "{twice}");

        // A crafted archive: an entry that climbs out of the data directory.
        let crafted = here.path().join("crafted.tar.gz");
        let mut tar = tar::Builder::new(GzEncoder::new(File::create(&crafted).unwrap(), Compression::default()));
        let mut header = tar::Header::new_gnu();
        let name = b"exports/../../evil";
        // Written into the header by hand: the tar crate refuses to write `..`.
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        header.set_size(4);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append(&header, &b"evil"[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let refused = restore(&config_in(elsewhere.path()), &crafted).await.unwrap_err().to_string();
        assert!(refused.contains("unexpected entry"), "{refused}");
        assert!(!elsewhere.path().join("evil").exists() && !elsewhere.path().join("data/evil").exists());
    }
}
