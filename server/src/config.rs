//! Configuration, read once from the environment into one struct whose
//! `Debug` never shows secrets.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tokenboard.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_MAIL_FROM: &str = "Tokenboard <tokenboard@localhost>";
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 12 * 60;
pub const DEFAULT_SESSION_MAX_DAYS: i64 = 14;

#[derive(Clone)]
pub struct Config {
    /// `TOKENBOARD_DATABASE_URL`: `sqlite://…` (default) or `postgres://…`.
    pub database_url: String,
    /// `TOKENBOARD_ADDR`: where `serve` listens.
    pub addr: SocketAddr,
    /// `TOKENBOARD_SECURE_COOKIES`: mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// `TOKENBOARD_MAX_UPLOAD_BYTES`: largest usage upload accepted.
    pub max_upload_bytes: usize,
    /// `TOKENBOARD_SITE_ROOT`: the built site (wasm, css, assets).
    pub site_root: String,
    /// `TOKENBOARD_DATA_DIR`: export files and the generated secret.
    pub data_dir: PathBuf,
    /// `TOKENBOARD_SECRET`: keys hashed user ids; generated into the data
    /// directory on first run when unset.
    pub secret: Option<String>,
    /// `TOKENBOARD_SMTP_URL` (`smtp://user:pass@host:587?tls=required`,
    /// `smtps://…`); without it mails stay in the outbox (`/outbox`).
    pub smtp_url: Option<String>,
    /// `TOKENBOARD_MAIL_FROM`: the sender of Tokenboard's mails.
    pub mail_from: String,
    /// `TOKENBOARD_PUBLIC_URL`: how users reach this server (links in mails).
    pub public_url: String,
    /// `TOKENBOARD_SESSION_IDLE_MINUTES` (default 720) and
    /// `TOKENBOARD_SESSION_MAX_DAYS` (default 14): a session ends after that
    /// long without a request, and that long after login in any case.
    pub sessions: tokenboard::auth::SessionPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid { name: &'static str, value: String, reason: String },
}

fn var(name: &'static str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: &str) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    let value = var(name, default);
    value.trim().parse().map_err(|e: T::Err| ConfigError::Invalid { name, value, reason: e.to_string() })
}

/// A whole number from 1 to 100,000 (minutes or days of a session).
fn positive(name: &'static str, default: i64) -> Result<i64, ConfigError> {
    let value: i64 = parsed(name, &default.to_string())?;
    if !(1..=100_000).contains(&value) {
        return Err(ConfigError::Invalid { name, value: value.to_string(), reason: "use 1 to 100000".into() });
    }
    Ok(value)
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
            database_url: var("TOKENBOARD_DATABASE_URL", DEFAULT_DATABASE_URL),
            addr: parsed("TOKENBOARD_ADDR", DEFAULT_ADDR)?,
            secure_cookies: parsed("TOKENBOARD_SECURE_COOKIES", "false")?,
            max_upload_bytes: parsed("TOKENBOARD_MAX_UPLOAD_BYTES", &DEFAULT_MAX_UPLOAD_BYTES.to_string())?,
            site_root: var("TOKENBOARD_SITE_ROOT", "target/site"),
            data_dir: PathBuf::from(var("TOKENBOARD_DATA_DIR", "data")),
            secret: std::env::var("TOKENBOARD_SECRET").ok().filter(|v| !v.trim().is_empty()),
            smtp_url: std::env::var("TOKENBOARD_SMTP_URL").ok().filter(|v| !v.trim().is_empty()),
            mail_from: var("TOKENBOARD_MAIL_FROM", DEFAULT_MAIL_FROM),
            public_url: var("TOKENBOARD_PUBLIC_URL", &format!("http://{}", var("TOKENBOARD_ADDR", DEFAULT_ADDR))),
            sessions: tokenboard::auth::SessionPolicy {
                idle: chrono::Duration::minutes(positive(
                    "TOKENBOARD_SESSION_IDLE_MINUTES",
                    DEFAULT_SESSION_IDLE_MINUTES,
                )?),
                max_age: chrono::Duration::days(positive("TOKENBOARD_SESSION_MAX_DAYS", DEFAULT_SESSION_MAX_DAYS)?),
            },
        })
    }

    /// The key for hashed user ids: `TOKENBOARD_SECRET`, or the secret kept in
    /// `<data dir>/secret`, created (random, owner-only) on first use.
    pub fn pseudonym_key(&self) -> std::io::Result<tokenboard::personal_data::PseudonymKey> {
        if let Some(secret) = &self.secret {
            return Ok(tokenboard::personal_data::PseudonymKey::new(secret.as_bytes()));
        }
        let path = self.data_dir.join("secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(secret) if !secret.trim().is_empty() => secret,
            _ => write_new_secret(&path)?,
        };
        Ok(tokenboard::personal_data::PseudonymKey::new(secret.trim().as_bytes()))
    }

    pub fn exports_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }
}

fn write_new_secret(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(secret.as_bytes())?;
    Ok(secret)
}

/// Hides the password of a database URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &credentials[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("secure_cookies", &self.secure_cookies)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("site_root", &self.site_root)
            .field("data_dir", &self.data_dir)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("sessions", &self.sessions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_database_password() {
        assert_eq!(redact_url("postgres://tb:s3cret@db:5432/tb"), "postgres://tb:***@db:5432/tb");
        assert_eq!(redact_url("sqlite://data/tokenboard.db"), "sqlite://data/tokenboard.db");
        let config = Config {
            database_url: "postgres://tb:s3cret@db/tb".into(),
            addr: DEFAULT_ADDR.parse().unwrap(),
            secure_cookies: false,
            max_upload_bytes: 1,
            site_root: "target/site".into(),
            data_dir: "data".into(),
            secret: Some("hush-hush".into()),
            smtp_url: Some("smtp://mailer:m41lpass@smtp.example.com:587".into()),
            mail_from: DEFAULT_MAIL_FROM.into(),
            public_url: "http://localhost".into(),
            sessions: Default::default(),
        };
        let shown = format!("{config:?}");
        for secret in ["s3cret", "hush-hush", "m41lpass"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
