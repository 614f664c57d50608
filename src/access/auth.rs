//! Admins, sessions, team API keys and the one authorisation check.
//!
//! Passwords are hashed with argon2id. Session tokens and API keys are random
//! 256-bit secrets; only their SHA-256 is stored, so a database leak does not
//! leak a usable credential.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use crate::db::{Db, on_db};
use crate::domain::model::{Role, TeamRef};
use crate::domain::teams::Team;
use crate::error::{Error, Result};

pub use crate::domain::model::MIN_PASSWORD_LEN;

/// The stored hash of an account that has no password yet (an invited
/// admin before they set one): no password verifies against it.
pub(crate) const NO_PASSWORD: &str = "!";

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub email: String,
}

/// Why access to a team was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Not logged in (or the session expired).
    #[error("not logged in")]
    Unauthenticated,
    /// The team does not exist *for this admin*: unknown, or no role on it.
    #[error("no such team")]
    NotFound,
    /// The admin sees the team but lacks the role this action needs.
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    #[error(transparent)]
    Internal(#[from] Error),
}

/// A team the caller may act on, with the role that allowed it.
#[derive(Clone, Debug)]
pub struct TeamAccess {
    pub team: Team,
    pub role: Role,
}

pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A password an admin chose is long enough.
pub(crate) fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::Invalid(format!("a password needs at least {MIN_PASSWORD_LEN} characters")));
    }
    Ok(())
}

/// Hashes a new password with argon2id on the blocking pool (see [`argon2_task`]).
pub(crate) async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    argon2_task(move || hash_password_blocking(&password)).await?
}

fn hash_password_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::PasswordHash(e.to_string()))
}

/// How every stored e-mail of an admin is spelt: trimmed, lower case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Creates the admin, or sets a new password when the e-mail exists (the
/// operator's `tokenboard admin` and the demo). A new password voids the
/// account's outstanding set-password links; the operator's password is known
/// to no team (`password_links`).
pub async fn upsert_admin(db: &Db, email: &str, password: &str) -> Result<Admin> {
    let email = normalise_email(email);
    if !email.contains('@') || email.len() < 3 {
        return Err(Error::Invalid(format!("{email:?} is not an e-mail address")));
    }
    check_new_password(password)?;
    let hash = hash_password(password).await?;
    let sql = "INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, password_known_to_team_id = NULL
               RETURNING id";
    let links = "DELETE FROM set_password_tokens WHERE admin_id = $1";
    let id = on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let id =
            sqlx::query_scalar::<_, i64>(sql).bind(&email).bind(&hash).bind(Utc::now()).fetch_one(&mut *tx).await?;
        sqlx::query(links).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        id
    });
    Ok(Admin { id, email })
}

/// Why a password change was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the current password is wrong")]
    WrongCurrent,
    #[error("a password needs at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<sqlx::Error> for PasswordChangeError {
    fn from(e: sqlx::Error) -> Self {
        PasswordChangeError::Internal(e.into())
    }
}

/// Changes the admin's own password: the current one must be right. Ends the
/// account's other sessions (`keep_session` is the caller's) and its
/// set-password links, and audits the change, in one transaction.
pub async fn change_password(
    db: &Db,
    admin: &Admin,
    current: &str,
    new: &str,
    keep_session: &str,
) -> std::result::Result<(), PasswordChangeError> {
    if verify_login(db, &admin.email, current).await?.is_none_or(|a| a.id != admin.id) {
        return Err(PasswordChangeError::WrongCurrent);
    }
    check_new_password(new).map_err(|_| PasswordChangeError::TooShort)?;
    let hash = hash_password(new).await?;
    let update = "UPDATE admins SET password_hash = $1 WHERE id = $2";
    let links = "DELETE FROM set_password_tokens WHERE admin_id = $1";
    let sessions = "DELETE FROM sessions WHERE admin_id = $1 AND token_hash <> $2";
    let actor = crate::access::audit::Actor::Admin { id: admin.id, email: admin.email.clone() };
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(update).bind(&hash).bind(admin.id).execute(&mut *tx).await?;
        sqlx::query(links).bind(admin.id).execute(&mut *tx).await?;
        sqlx::query(sessions).bind(admin.id).bind(sha256_hex(keep_session)).execute(&mut *tx).await?;
        crate::access::audit::record_in!(
            &mut *tx,
            None::<i64>,
            actor,
            crate::access::audit::AuditAction::PasswordChanged,
            "changed their password",
            Utc::now()
        )?;
        tx.commit().await?;
    });
    Ok(())
}

/// Gives the admin the role on the team (the operator's command line and
/// the demo; invitations go through `team_admins::invite`). Like an
/// invitation, it applies `password_links::ON_NEW_ROLE` under the account's
/// lock: links of other teams end, a password another team may know is voided.
pub async fn grant_role(db: &Db, team_id: i64, admin_id: i64, role: Role) -> Result<()> {
    let lock = format!("SELECT id FROM admins WHERE id = $1{}", db.for_update());
    let sql = "INSERT INTO team_admins (team_id, admin_id, role) VALUES ($1, $2, $3)
               ON CONFLICT (team_id, admin_id) DO UPDATE SET role = excluded.role";
    on_db!(db, |pool| {
        let mut tx = pool.begin_with(db.begin_write()).await?;
        sqlx::query_scalar::<_, i64>(&lock).bind(admin_id).fetch_one(&mut *tx).await?;
        sqlx::query(sql).bind(team_id).bind(admin_id).bind(role.as_str()).execute(&mut *tx).await?;
        for step in crate::access::password_links::ON_NEW_ROLE {
            sqlx::query(step).bind(admin_id).bind(team_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Runs argon2 work on the blocking pool, at most one per core at a time:
/// a burst of logins queues here instead of stalling the async workers that
/// serve every other page (issue 10: 400 logins made pages take 3–14 s).
async fn argon2_task<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
    });
    let _slot = slots.acquire().await.map_err(|e| Error::PasswordHash(e.to_string()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::PasswordHash(e.to_string()))
}

/// Checks e-mail and password; `None` for an unknown e-mail or a wrong password
/// (indistinguishable to the caller).
pub async fn verify_login(db: &Db, email: &str, password: &str) -> Result<Option<Admin>> {
    let email = normalise_email(email);
    let sql = "SELECT id, password_hash FROM admins WHERE email = $1";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String)>(sql).bind(&email).fetch_optional(pool).await?);
    let password = password.to_owned();
    let Some((id, stored)) = row.filter(|(_, stored)| stored != NO_PASSWORD) else {
        // Spend the same effort, through the same queue, as a real check so
        // timing does not reveal accounts (nor which have set their password yet).
        let _ = argon2_task(move || hash_password_blocking(&password)).await?;
        return Ok(None);
    };
    let ok = argon2_task(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| Error::PasswordHash(e.to_string()))?;
        Ok::<_, Error>(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await??;
    Ok(ok.then_some(Admin { id, email }))
}

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

/// The admin with this e-mail, if any (to attribute a failed login in the audit log).
pub async fn admin_id_by_email(db: &Db, email: &str) -> Result<Option<i64>> {
    let sql = "SELECT id FROM admins WHERE email = $1";
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql).bind(normalise_email(email)).fetch_optional(pool).await?))
}

/// Teams the admin may see, for the team picker.
pub async fn teams_of(db: &Db, admin_id: i64) -> Result<Vec<TeamRef>> {
    let sql = "SELECT t.slug, t.name, ta.role FROM team_admins ta JOIN teams t ON t.id = ta.team_id
               WHERE ta.admin_id = $1 ORDER BY t.name";
    let rows =
        on_db!(db, |pool| sqlx::query_as::<_, (String, String, String)>(sql).bind(admin_id).fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .filter_map(|(slug, name, role)| Some(TeamRef { slug, name, role: Role::parse(&role)? }))
        .collect())
}

/// The authorisation check every server function and route goes through:
/// may `admin` act with `required` on the team named `slug`? A team the admin
/// holds no role on answers exactly like a team that does not exist.
pub async fn authorize(db: &Db, admin: Option<&Admin>, slug: &str, required: Role) -> Result<TeamAccess, AccessError> {
    let admin = admin.ok_or(AccessError::Unauthenticated)?;
    let sql = "SELECT t.id, t.slug, t.name, t.time_zone, t.personal_data, ta.role
               FROM teams t JOIN team_admins ta ON ta.team_id = t.id
               WHERE t.slug = $1 AND ta.admin_id = $2";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String, bool, String)>(sql)
        .bind(slug)
        .bind(admin.id)
        .fetch_optional(pool)
        .await
        .map_err(Error::from)?);
    let (id, slug, name, time_zone, personal_data, role) = row.ok_or(AccessError::NotFound)?;
    let role = Role::parse(&role).ok_or(AccessError::NotFound)?;
    if !role.satisfies(required) {
        return Err(AccessError::Forbidden(required.as_str()));
    }
    Ok(TeamAccess { team: Team { id, slug, name, time_zone, personal_data }, role })
}

/// Creates an API key scoped to one team; the plain key is returned once.
pub async fn create_api_key(db: &Db, team_id: i64, label: &str) -> Result<String> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 80 {
        return Err(Error::Invalid("give the key a label of 1 to 80 characters".into()));
    }
    let key = format!("tb_{}", random_secret());
    let sql = "INSERT INTO api_keys (team_id, label, key_hash, created_at) VALUES ($1, $2, $3, $4)";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(team_id)
        .bind(label)
        .bind(sha256_hex(&key))
        .bind(Utc::now())
        .execute(pool)
        .await?
        .rows_affected());
    Ok(key)
}

/// The team's keys, newest first (revoked ones too, for the record).
pub async fn api_keys(db: &Db, team_id: i64) -> Result<Vec<crate::access::settings::ApiKeyInfo>> {
    let sql =
        "SELECT id, label, created_at, last_used_at, revoked_at FROM api_keys WHERE team_id = $1 ORDER BY id DESC";
    Ok(on_db!(db, |pool| sqlx::query_as(sql).bind(team_id).fetch_all(pool).await?))
}

/// Revokes a live key of the team; `NotFound` for another team's key or one
/// already revoked.
pub async fn revoke_api_key(db: &Db, team_id: i64, key_id: i64) -> Result<()> {
    let sql = "UPDATE api_keys SET revoked_at = $1 WHERE team_id = $2 AND id = $3 AND revoked_at IS NULL";
    let revoked = on_db!(db, |pool| sqlx::query(sql)
        .bind(Utc::now())
        .bind(team_id)
        .bind(key_id)
        .execute(pool)
        .await?
        .rows_affected());
    if revoked == 0 {
        return Err(Error::NotFound(format!("live API key {key_id}")));
    }
    Ok(())
}

/// Authorises an API call: the key must be live and belong to the team named
/// by `slug`; anything else is `NotFound`, whatever the reason.
pub async fn authorize_api_key(db: &Db, key: &str, slug: &str) -> Result<Team, AccessError> {
    let sql = "SELECT t.id, t.slug, t.name, t.time_zone, t.personal_data, k.id
               FROM api_keys k JOIN teams t ON t.id = k.team_id
               WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.slug = $2";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String, bool, i64)>(sql)
        .bind(sha256_hex(key))
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(Error::from)?);
    let (id, slug, name, time_zone, personal_data, key_id) = row.ok_or(AccessError::NotFound)?;
    let touch = "UPDATE api_keys SET last_used_at = $1 WHERE team_id = $2 AND id = $3";
    on_db!(db, |pool| sqlx::query(touch)
        .bind(Utc::now())
        .bind(id)
        .bind(key_id)
        .execute(pool)
        .await
        .map_err(Error::from)?
        .rows_affected());
    Ok(Team { id, slug, name, time_zone, personal_data })
}
