//! Login sessions: their lifetime policy, starting, checking, ending and
//! purging them. Imports the database, `accounts` (the admin) and `secrets`.

use chrono::{DateTime, Duration, Utc};

use crate::access::accounts::Admin;
use crate::access::secrets::{random_secret, sha256_hex};
use crate::db::{Db, on_db};
use crate::error::Result;

/// How long sessions live: they end after `idle` without a request and, in
/// any case, `max_age` after login (settings `TOKENBOARD_SESSION_IDLE_MINUTES`
/// and `TOKENBOARD_SESSION_MAX_DAYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub max_age: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle: Duration::hours(12), max_age: Duration::days(14) }
    }
}

/// A session's last use is written at most this often: a page's many server
/// calls do not each write to the database.
pub const SESSION_TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// Starts a session; returns the secret token for the cookie.
pub async fn create_session(db: &Db, admin_id: i64, policy: &SessionPolicy) -> Result<String> {
    let token = random_secret();
    let now = Utc::now();
    let sql = "INSERT INTO sessions (token_hash, admin_id, created_at, expires_at, last_seen_at)
               VALUES ($1, $2, $3, $4, $3)";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(sha256_hex(&token))
        .bind(admin_id)
        .bind(now)
        .bind(now + policy.max_age)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
}

/// The admin a session token belongs to at `now`, if the session is neither
/// idle too long nor past its lifetime (the policy in force now applies to
/// old sessions too). A use refreshes the idle clock, at most once a minute.
pub async fn session_admin(db: &Db, token: &str, policy: &SessionPolicy, now: DateTime<Utc>) -> Result<Option<Admin>> {
    let sql = "SELECT a.id, a.email, s.created_at, s.expires_at, s.last_seen_at
               FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1";
    let hash = sha256_hex(token);
    let row = on_db!(db, |pool| sqlx::query_as::<_, SessionRow>(sql).bind(&hash).fetch_optional(pool).await?);
    let Some(row) = row else { return Ok(None) };
    let last_seen = row.last_seen_at.unwrap_or(row.created_at);
    let alive = now < row.expires_at && now < row.created_at + policy.max_age && now < last_seen + policy.idle;
    if !alive {
        return Ok(None);
    }
    if now - last_seen >= SESSION_TOUCH_INTERVAL {
        let touch = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
        on_db!(db, |pool| sqlx::query(touch).bind(&hash).bind(now).execute(pool).await?.rows_affected());
    }
    Ok(Some(Admin { id: row.id, email: row.email }))
}

/// Deletes the sessions that `session_admin` would refuse at `now`; returns
/// how many (the jobs worker's purge).
pub async fn purge_sessions(db: &Db, policy: &SessionPolicy, now: DateTime<Utc>) -> Result<u64> {
    let sql = "DELETE FROM sessions
               WHERE expires_at <= $1 OR created_at <= $2 OR COALESCE(last_seen_at, created_at) <= $3";
    Ok(on_db!(db, |pool| sqlx::query(sql)
        .bind(now)
        .bind(now - policy.max_age)
        .bind(now - policy.idle)
        .execute(pool)
        .await?
        .rows_affected()))
}

pub async fn end_session(db: &Db, token: &str) -> Result<()> {
    let sql = "DELETE FROM sessions WHERE token_hash = $1";
    on_db!(db, |pool| sqlx::query(sql).bind(sha256_hex(token)).execute(pool).await?.rows_affected());
    Ok(())
}

/// Ends every session of the admin ("log out everywhere").
pub async fn end_all_sessions(db: &Db, admin_id: i64) -> Result<u64> {
    let sql = "DELETE FROM sessions WHERE admin_id = $1";
    Ok(on_db!(db, |pool| sqlx::query(sql).bind(admin_id).execute(pool).await?.rows_affected()))
}
