//! The login rate limit (DESIGN §8): after too many failed logins for one
//! account, or from one address, within a window, further attempts are
//! refused without checking the password until the window has passed.
//! Kept in the database, so every app server sees the same counts.

use chrono::{DateTime, Duration, Utc};

use crate::auth::normalise_email;
use crate::db::{Db, on_db};
use crate::error::Result;

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

/// Why a login is refused before its password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    Account,
    Address,
}

/// Whether a login for `email` from `address` is refused now.
pub async fn check(db: &Db, email: &str, address: &str, now: DateTime<Utc>) -> Result<Option<Limited>> {
    let since = now - WINDOW;
    let by_email = "SELECT COUNT(*) FROM login_failures WHERE email = $1 AND created_at > $2";
    let by_address = "SELECT COUNT(*) FROM login_failures WHERE address = $1 AND created_at > $2";
    let (account, from_address) = on_db!(db, |pool| {
        let account: i64 =
            sqlx::query_scalar(by_email).bind(normalise_email(email)).bind(since).fetch_one(pool).await?;
        let from_address: i64 = sqlx::query_scalar(by_address).bind(address).bind(since).fetch_one(pool).await?;
        (account, from_address)
    });
    Ok(if account >= MAX_FAILURES_PER_ACCOUNT {
        Some(Limited::Account)
    } else if from_address >= MAX_FAILURES_PER_ADDRESS {
        Some(Limited::Address)
    } else {
        None
    })
}

/// Counts a failed login, and forgets failures older than the window.
pub async fn record_failure(db: &Db, email: &str, address: &str, now: DateTime<Utc>) -> Result<()> {
    let insert = "INSERT INTO login_failures (email, address, created_at) VALUES ($1, $2, $3)";
    let prune = "DELETE FROM login_failures WHERE created_at <= $1";
    on_db!(db, |pool| {
        sqlx::query(insert).bind(normalise_email(email)).bind(address).bind(now).execute(pool).await?;
        sqlx::query(prune).bind(now - WINDOW).execute(pool).await?;
    });
    Ok(())
}
