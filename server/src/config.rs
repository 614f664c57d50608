//! Configuration, read once from the environment into one struct whose
//! `Debug` never shows secrets.

use std::fmt;
use std::net::SocketAddr;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tokenboard.db";
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

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

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
            database_url: var("TOKENBOARD_DATABASE_URL", DEFAULT_DATABASE_URL),
            addr: parsed("TOKENBOARD_ADDR", DEFAULT_ADDR)?,
            secure_cookies: parsed("TOKENBOARD_SECURE_COOKIES", "false")?,
            max_upload_bytes: parsed("TOKENBOARD_MAX_UPLOAD_BYTES", &DEFAULT_MAX_UPLOAD_BYTES.to_string())?,
            site_root: var("TOKENBOARD_SITE_ROOT", "target/site"),
        })
    }
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
        };
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
