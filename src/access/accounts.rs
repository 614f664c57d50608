//! Admin accounts and their passwords: creating an account, checking a login,
//! changing a password. Imports the database, the audit log and `secrets`.
//!
//! Passwords are hashed with argon2id, on the blocking pool, one per core.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use rand::rngs::OsRng;

use crate::access::secrets::sha256_hex;
use crate::db::{Db, on_db};
use crate::error::{Error, Result};

pub use crate::domain::model::MIN_PASSWORD_LEN;

/// The stored hash of an account that has no password yet (an invited
/// admin before they set one): no password verifies against it.
pub(crate) const NO_PASSWORD: &str = "!";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub email: String,
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
        let (_turn, mut tx) = db.write_transaction(pool).await?;
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
        let (_turn, mut tx) = db.write_transaction(pool).await?;
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

/// The admin with this e-mail, if any (to attribute a failed login in the audit log).
pub async fn admin_id_by_email(db: &Db, email: &str) -> Result<Option<i64>> {
    let sql = "SELECT id FROM admins WHERE email = $1";
    Ok(on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql).bind(normalise_email(email)).fetch_optional(pool).await?))
}
