//! Configuration, read once from the environment into one struct whose
//! `Debug` never shows secrets.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tokenboard.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
pub const DEFAULT_MAIL_FROM: &str = "Tokenboard <tokenboard@localhost>";
pub const DEFAULT_SESSION_IDLE_MINUTES: i64 = 12 * 60;
pub const DEFAULT_SESSION_MAX_DAYS: i64 = 14;
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 15;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;

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
    /// `TOKENBOARD_PUBLIC_URL`: how users reach this server (links in mails);
    /// its origin is also one that may send state-changing requests.
    pub public_url: String,
    /// `TOKENBOARD_SESSION_IDLE_MINUTES` (default 720) and
    /// `TOKENBOARD_SESSION_MAX_DAYS` (default 14): a session ends after that
    /// long without a request, and that long after login in any case.
    pub sessions: tokenboard::access::sessions::SessionPolicy,
    /// `TOKENBOARD_TRUSTED_PROXY_HEADER` (e.g. `X-Forwarded-For`): the header
    /// the reverse proxy in front sets to the client's address; its
    /// right-most entry keys the login limit. Unset: the TCP peer does.
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// `TOKENBOARD_WEBHOOK_ALLOW_HOSTS`: comma-separated host names and IP
    /// addresses a webhook may reach although they are internal.
    pub webhook_policy: tokenboard::notify::webhooks::WebhookPolicy,
    /// `TOKENBOARD_REQUEST_TIMEOUT_SECS`: longest time from a request's head
    /// to the head of its answer (a download's body may take longer).
    pub request_timeout: Duration,
    /// `TOKENBOARD_HEADER_TIMEOUT_SECS`: longest time a connection may take
    /// to send a request's headers, and stay idle between requests.
    pub header_timeout: Duration,
    /// `TOKENBOARD_METRICS_TOKEN`: a bearer token that opens `/metrics` to
    /// callers other than this machine (without it, only loopback callers
    /// that no proxy forwarded may read it).
    pub metrics_token: Option<String>,
    /// `TOKENBOARD_SHUTDOWN_GRACE_SECS` (default 30): on SIGTERM or Ctrl-C,
    /// how long requests, downloads and export jobs under way may take to
    /// finish before the process exits.
    pub shutdown_grace: Duration,
    /// `TOKENBOARD_LOG_FORMAT`: `json` for one JSON object per log line
    /// (with the request id); anything else, text.
    pub log_json: bool,
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

/// A positive number of seconds.
fn seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match parsed::<u64>(name, &default.to_string())? {
        0 => Err(ConfigError::Invalid { name, value: "0".into(), reason: "must be at least 1 second".into() }),
        secs => Ok(Duration::from_secs(secs)),
    }
}

/// Whether `TOKENBOARD_LOG_FORMAT` asks for JSON log lines (read before the
/// rest of the configuration: the logger starts first).
pub fn log_json() -> bool {
    var("TOKENBOARD_LOG_FORMAT", "text").trim().eq_ignore_ascii_case("json")
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
            sessions: tokenboard::access::sessions::SessionPolicy {
                idle: chrono::Duration::minutes(positive(
                    "TOKENBOARD_SESSION_IDLE_MINUTES",
                    DEFAULT_SESSION_IDLE_MINUTES,
                )?),
                max_age: chrono::Duration::days(positive("TOKENBOARD_SESSION_MAX_DAYS", DEFAULT_SESSION_MAX_DAYS)?),
            },
            trusted_proxy_header: match var("TOKENBOARD_TRUSTED_PROXY_HEADER", "") {
                header if header.is_empty() => None,
                _ => Some(parsed("TOKENBOARD_TRUSTED_PROXY_HEADER", "")?),
            },
            webhook_policy: tokenboard::notify::webhooks::WebhookPolicy::from_list(&var(
                "TOKENBOARD_WEBHOOK_ALLOW_HOSTS",
                "",
            )),
            request_timeout: seconds("TOKENBOARD_REQUEST_TIMEOUT_SECS", DEFAULT_REQUEST_TIMEOUT_SECS)?,
            header_timeout: seconds("TOKENBOARD_HEADER_TIMEOUT_SECS", DEFAULT_HEADER_TIMEOUT_SECS)?,
            metrics_token: std::env::var("TOKENBOARD_METRICS_TOKEN").ok().filter(|v| !v.trim().is_empty()),
            shutdown_grace: seconds("TOKENBOARD_SHUTDOWN_GRACE_SECS", DEFAULT_SHUTDOWN_GRACE_SECS)?,
            log_json: log_json(),
        })
    }

    /// The key for hashed user ids: `TOKENBOARD_SECRET`, or the secret kept in
    /// `<data dir>/secret`, created (random, owner-only) when the file is
    /// missing. A file that exists but is not a secret we wrote stops the
    /// start: replacing it would silently change every hashed user id.
    pub fn pseudonym_key(&self) -> std::io::Result<tokenboard::report::privacy::PseudonymKey> {
        if let Some(secret) = &self.secret {
            return Ok(tokenboard::report::privacy::PseudonymKey::new(secret.as_bytes()));
        }
        let path = self.data_dir.join("secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(secret) => check_secret(&path, secret)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new_secret(&path)?,
            Err(e) => return Err(std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))),
        };
        Ok(tokenboard::report::privacy::PseudonymKey::new(secret.as_bytes()))
    }

    pub fn exports_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }
}

/// The secret file holds 64 hex digits (32 bytes), maybe with a final newline.
fn check_secret(path: &Path, text: String) -> std::io::Result<String> {
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(secret.to_owned());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "the secret file {} is malformed (expected 64 hex digits, found {} characters); restore it from a \
             backup, or delete it to create a new one (hashed user ids then change)",
            path.display(),
            secret.chars().count()
        ),
    ))
}

fn write_new_secret(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        tokenboard::db::files::create_private_dir(dir)?;
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    // create_new: of two processes starting at once, one writes, the other
    // fails instead of overwriting a secret already in use.
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(secret)
}

/// The passwords a database or SMTP URL carries: the one after `user:` and
/// any `password=` of its query string (libpq and sqlx accept both).
fn url_passwords(url: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[authority_start..].find(['/', '?', '#']).map_or(url.len(), |i| authority_start + i);
    if let Some(at) = url[authority_start..authority_end].rfind('@')
        && let Some((_, password)) = url[authority_start..authority_start + at].split_once(':')
    {
        found.push(password);
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split(['&', '#']) {
            if let Some((key, value)) = pair.split_once('=')
                && key.eq_ignore_ascii_case("password")
            {
                found.push(value);
            }
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

/// `text` with every password of `url` replaced by `***`: for the URL itself
/// and for error messages that may quote it (sqlx's connection errors).
pub fn redact_secrets_of(url: &str, text: &str) -> String {
    let mut passwords = url_passwords(url);
    // The longest first, so a password containing another is hidden whole.
    passwords.sort_by_key(|p| std::cmp::Reverse(p.len()));
    passwords.into_iter().fold(text.to_owned(), |text, password| text.replace(password, "***"))
}

/// Hides the passwords of a database or SMTP URL.
pub fn redact_url(url: &str) -> String {
    redact_secrets_of(url, url)
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
            .field("trusted_proxy_header", &self.trusted_proxy_header)
            .field("webhook_policy", &self.webhook_policy)
            .field("request_timeout", &self.request_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("shutdown_grace", &self.shutdown_grace)
            .field("log_json", &self.log_json)
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
        assert_eq!(
            redact_url("postgres://db/tb?user=tb&password=s3cret&sslmode=require"),
            "postgres://db/tb?user=tb&password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://tb:pw@db/tb?PASSWORD=other"), "postgres://tb:***@db/tb?PASSWORD=***");
        assert_eq!(redact_url("postgres://tb@db/tb?password="), "postgres://tb@db/tb?password=");
        let error = "error connecting to postgres://db/tb?password=s3cret: password authentication failed";
        assert!(!redact_secrets_of("postgres://db/tb?password=s3cret", error).contains("s3cret"));
        let config = Config {
            database_url: "postgres://tb:s3cret@db/tb?password=q5ecret".into(),
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
            trusted_proxy_header: None,
            webhook_policy: Default::default(),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            metrics_token: Some("m3trics".into()),
            shutdown_grace: Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS),
            log_json: false,
        };
        let shown = format!("{config:?}");
        for secret in ["s3cret", "q5ecret", "hush-hush", "m41lpass", "m3trics"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    fn in_dir(dir: &Path) -> Config {
        Config { data_dir: dir.to_owned(), secret: None, ..Config::from_env().unwrap() }
    }

    /// Only a missing secret file is created (owner-only); one that is there
    /// but malformed stops the start and stays as it was.
    #[test]
    fn a_malformed_secret_file_stops_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = in_dir(&dir.path().join("data"));
        let key = config.pseudonym_key().unwrap();
        let path = config.data_dir.join("secret");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(config.pseudonym_key().unwrap().user_id(1, 2), key.user_id(1, 2), "read back, not replaced");

        for bad in ["", "\n", "abc123", &"z".repeat(64), &"a".repeat(65)] {
            std::fs::write(&path, bad).unwrap();
            let Err(error) = config.pseudonym_key() else { panic!("{bad:?} was accepted as a secret") };
            let error = error.to_string();
            assert!(error.contains("malformed") && error.contains("secret"), "{bad:?}: {error}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad, "the file is left alone");
        }
    }
}
