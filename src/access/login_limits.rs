//! The login rate limit (DESIGN §8, issue 10): every login attempt first
//! *reserves* a place under two counters — one per account and client
//! address, one per client address across accounts — each with one atomic
//! `INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`. A refused
//! reservation returns no row, so parallel guesses cannot overtake the count
//! and reach the password check more often than the limit allows.
//!
//! Keyed by account *and* address, an attacker's failures lock the account
//! only for the attacker's address: its owner still logs in from elsewhere.
//! Kept in the database, so every app server sees the same counts.

use chrono::{DateTime, Duration, Utc};

use crate::access::accounts::normalise_email;
use crate::db::{Db, on_db};
use crate::error::Result;

pub const WINDOW: Duration = Duration::minutes(15);
/// Attempts per account and address within the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Attempts per address across accounts within the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// After this many attempts on an account and address, each further one
/// waits 2, then 4 … seconds after the previous one (at most 2^(5−3) = 4 s
/// before the limit itself stops them).
pub const DELAY_AFTER: i64 = 3;

/// Why a login is refused before its password is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    Account,
    Address,
}

/// An attempt let through to the password check: hand it to [`succeeded`]
/// when the password was right; a failure simply stays counted.
#[derive(Debug)]
#[must_use]
pub struct Reservation {
    account_key: String,
    address_key: String,
}

fn account_key(email: &str, address: &str) -> String {
    format!("account:{}|{address}", normalise_email(email))
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// One statement: counts the attempt (in a new window when the old one is
/// over) and decides, from the row as it was, whether it may reach the
/// password check: within the limit and — after `DELAY_AFTER` attempts —
/// 2^n seconds after the previous attempt. Refused attempts count too, so a
/// burst keeps its own address locked out for the window (and only it).
/// `$1` key, `$2` now, `$3` start of the window, `$4` limit, `$5` delay after.
const RESERVE: &str = "INSERT INTO login_limits (key, attempts, window_start, last_at, allowed)
    VALUES ($1, 1, $2, $2, TRUE)
    ON CONFLICT (key) DO UPDATE SET
        attempts = CASE WHEN login_limits.window_start <= $3 THEN 1 ELSE login_limits.attempts + 1 END,
        window_start = CASE WHEN login_limits.window_start <= $3 THEN $2 ELSE login_limits.window_start END,
        last_at = $2,
        allowed = (login_limits.window_start <= $3 OR (login_limits.attempts < $4
            AND (login_limits.attempts < $5
                 OR login_limits.last_at + (CAST(1000 AS BIGINT) << CAST(login_limits.attempts - $5 + 1 AS INTEGER))
                    <= $2)))
    RETURNING allowed";

async fn reserve_key(db: &Db, key: &str, now: i64, limit: i64, delay_after: i64) -> Result<bool> {
    let window_start = now - WINDOW.num_milliseconds();
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, bool>(RESERVE)
        .bind(key)
        .bind(now)
        .bind(window_start)
        .bind(limit)
        .bind(delay_after)
        .fetch_one(pool)
        .await?))
}

/// Gives back one attempt of `key` (a login that was not a guess).
async fn release_key(db: &Db, key: &str) -> Result<()> {
    let sql = "UPDATE login_limits SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0";
    on_db!(db, |pool| sqlx::query(sql).bind(key).execute(pool).await?.rows_affected());
    Ok(())
}

/// Reserves an attempt for `email` from `address`, or says why it is refused.
pub async fn reserve(
    db: &Db,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Reservation, Limited>> {
    let now = now.timestamp_millis();
    let reservation = Reservation { account_key: account_key(email, address), address_key: address_key(address) };
    if !reserve_key(db, &reservation.account_key, now, MAX_FAILURES_PER_ACCOUNT, DELAY_AFTER).await? {
        return Ok(Err(Limited::Account));
    }
    if !reserve_key(db, &reservation.address_key, now, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_ADDRESS).await? {
        // Refused before any password check: not a guess at the account.
        release_key(db, &reservation.account_key).await?;
        return Ok(Err(Limited::Address));
    }
    Ok(Ok(reservation))
}

/// A successful login clears its account key and gives its place under the
/// address cap back (an office behind one address is not capped by logins
/// that worked).
pub async fn succeeded(db: &Db, reservation: Reservation) -> Result<()> {
    let clear = "DELETE FROM login_limits WHERE key = $1";
    on_db!(db, |pool| sqlx::query(clear).bind(&reservation.account_key).execute(pool).await?.rows_affected());
    release_key(db, &reservation.address_key).await
}

/// Forgets keys whose window is over (they count nothing any more).
pub async fn forget_old(db: &Db, now: DateTime<Utc>) -> Result<()> {
    let prune = "DELETE FROM login_limits WHERE window_start <= $1";
    let before = (now - WINDOW).timestamp_millis();
    on_db!(db, |pool| sqlx::query(prune).bind(before).execute(pool).await?.rows_affected());
    Ok(())
}
