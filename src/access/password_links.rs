//! Set-password links (issue 10; DESIGN §8: no credential ever passes
//! through a second person). An invited account has no password; its owner
//! sets one through a single-use link that expires after [`LINK_LIFETIME`].
//! Only the SHA-256 of the link's random 256-bit token is stored.
//!
//! Who may see a link, and what it may open. A link is mailed through the
//! outbox of the team that invited (the link's `team_id`): with SMTP it is
//! delivered and nobody sees it in the outbox; without SMTP that team's
//! primary admins see it there, to pass on. The two-team takeover (team A's
//! admin keeps what A's invitation showed, team B adds the same person, A's
//! admin walks into B) is closed by one rule:
//!
//!   **a link sets a password only while its team is the account's only team.**
//!
//! Whoever uses a link therefore gets an account that opens nothing but the
//! team whose admins could see the link, which they already administer. The
//! rule is enforced on both sides, each in a write transaction serialised on
//! the account (PostgreSQL: its `admins` row `FOR UPDATE`; SQLite: `BEGIN
//! IMMEDIATE`): a role on another team deletes the account's links of other
//! teams in the same transaction (`team_admins::invite`), and redeeming checks
//! the account's teams before it sets anything ([`redeem`]). A deleted link
//! stays dead even if the account later leaves the other team.
//!
//! A link used before the account joined another team may have been used by
//! the team's admins themselves, who then know the password. So a password set
//! through a link that the outbox could show is recorded as known to the
//! link's team (`admins.password_known_to_team_id`), and a role on any other
//! team voids it ([`ON_NEW_ROLE`]): no password, no sessions; the new team's
//! invitation mails a fresh link when SMTP delivers it, else the operator sets
//! the password. A *private* link (its mail delivered by SMTP, its credential
//! never shown in the outbox) was seen by its owner only: it sets a password
//! nobody else knows, even on an account with several teams.

use chrono::{DateTime, Duration, Utc};

use crate::access::accounts::{self, Admin, MIN_PASSWORD_LEN};
use crate::access::audit::{self, Actor, AuditAction};
use crate::access::secrets;
use crate::db::{Db, on_db};
use crate::error::Error;

/// How long an invitation's link works.
pub const LINK_LIFETIME: Duration = Duration::hours(72);

/// Binds, in order: token hash, admin id, team id, created, expires, the outbox mail carrying it.
pub(crate) const INSERT: &str =
    "INSERT INTO set_password_tokens (token_hash, admin_id, team_id, created_at, expires_at, mail_id)
    VALUES ($1, $2, $3, $4, $5, $6)";
/// What a role on a team does to the account's credentials: run, in order,
/// each binding the admin id and the team, by both places that grant roles
/// (`team_admins::invite`, `auth::grant_role`) in their transaction, with the
/// account locked. The account's links of other teams die; a password another
/// team may know (see the module) is voided (`'!'` is `accounts::NO_PASSWORD`)
/// and the account's sessions end.
pub(crate) const ON_NEW_ROLE: [&str; 3] = [
    "DELETE FROM set_password_tokens WHERE admin_id = $1 AND team_id <> $2",
    "DELETE FROM sessions WHERE admin_id = $1 AND EXISTS
         (SELECT 1 FROM admins WHERE id = $1 AND password_known_to_team_id <> $2)",
    "UPDATE admins SET password_hash = '!', password_known_to_team_id = NULL
     WHERE id = $1 AND password_known_to_team_id <> $2",
];
/// Binds the admin id: all their links die (a new link or a password replaces them).
pub(crate) const REVOKE_ALL: &str = "DELETE FROM set_password_tokens WHERE admin_id = $1";

/// A new link: the secret token (for the mail only) and its stored hash.
pub(crate) struct NewLink {
    pub token: String,
    pub hash: String,
}

impl NewLink {
    pub fn generate() -> NewLink {
        let token = secrets::random_secret();
        let hash = secrets::sha256_hex(&token);
        NewLink { token, hash }
    }

    /// The page that redeems it, on the server users reach (`TOKENBOARD_PUBLIC_URL`).
    pub fn url(&self, public_url: &str) -> String {
        format!("{}/set-password?token={}", public_url.trim_end_matches('/'), self.token)
    }
}

/// Why a link did not set a password. Either way nothing changed, except
/// that a link refused by the one-team rule is deleted.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("a password needs at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("this link does not work: it was used, it expired or a newer one replaced it")]
    InvalidLink,
    #[error(transparent)]
    Internal(#[from] Error),
}

impl From<sqlx::Error> for RedeemError {
    fn from(e: sqlx::Error) -> Self {
        RedeemError::Internal(e.into())
    }
}

/// Sets the account's password through the link's `token` at `now`: marks
/// the link used, deletes the account's other links, ends its sessions and
/// audits it, in one transaction. Returns the account, to log it in.
pub async fn redeem(db: &Db, token: &str, password: &str, now: DateTime<Utc>) -> Result<Admin, RedeemError> {
    if accounts::check_new_password(password).is_err() {
        return Err(RedeemError::TooShort);
    }
    let token_hash = secrets::sha256_hex(token);
    let owner = "SELECT admin_id FROM set_password_tokens WHERE token_hash = $1";
    let Some(admin_id) =
        on_db!(db, |pool| sqlx::query_scalar::<_, i64>(owner).bind(&token_hash).fetch_optional(pool).await?)
    else {
        return Err(RedeemError::InvalidLink);
    };
    let hash = accounts::hash_password(password).await?;
    // The account first, then its links: the order invitations lock in too.
    let lock = format!("SELECT email FROM admins WHERE id = $1{}", db.for_update());
    let claim = "UPDATE set_password_tokens SET used_at = $3
                 WHERE token_hash = $1 AND admin_id = $2 AND used_at IS NULL AND expires_at > $3
                 RETURNING team_id, mail_id";
    // Private: delivered by SMTP and never shown (a link without its mail is not).
    let private = "SELECT COUNT(*) FROM mail_outbox WHERE id = $1 AND sent_at IS NOT NULL AND NOT secret_shown";
    let teams = "SELECT team_id FROM team_admins WHERE admin_id = $1";
    let set = "UPDATE admins SET password_hash = $1, password_known_to_team_id = $3 WHERE id = $2";
    let others = "DELETE FROM set_password_tokens WHERE admin_id = $1 AND token_hash <> $2";
    let sessions = "DELETE FROM sessions WHERE admin_id = $1";
    on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        let email = sqlx::query_scalar::<_, String>(&lock).bind(admin_id).fetch_one(&mut *tx).await?;
        let Some((team_id, mail_id)) = sqlx::query_as::<_, (i64, Option<i64>)>(claim)
            .bind(&token_hash)
            .bind(admin_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(RedeemError::InvalidLink);
        };
        let private = sqlx::query_scalar::<_, i64>(private).bind(mail_id).fetch_one(&mut *tx).await? == 1;
        let account_teams = sqlx::query_scalar::<_, i64>(teams).bind(admin_id).fetch_all(&mut *tx).await?;
        let only_team = !account_teams.is_empty() && account_teams.iter().all(|t| *t == team_id);
        // A private link needs its team among the account's; any other, that it be the only one.
        let opens = if private { account_teams.contains(&team_id) } else { only_team };
        if !opens {
            // Not (or no longer) the account's only team: the link opens nothing, now or later.
            sqlx::query(REVOKE_ALL).bind(admin_id).execute(&mut *tx).await?;
            tx.commit().await?;
            return Err(RedeemError::InvalidLink);
        }
        let known_to = (!private).then_some(team_id);
        sqlx::query(set).bind(&hash).bind(admin_id).bind(known_to).execute(&mut *tx).await?;
        sqlx::query(others).bind(admin_id).bind(&token_hash).execute(&mut *tx).await?;
        sqlx::query(sessions).bind(admin_id).execute(&mut *tx).await?;
        let actor = Actor::Admin { id: admin_id, email: email.clone() };
        // An account event, like a password change: outside any team (the
        // team's audit view still lists it, as it lists its admins' logins).
        audit::record_in!(
            &mut *tx,
            None::<i64>,
            actor,
            AuditAction::PasswordSet,
            "set their password through their invitation link",
            now
        )?;
        tx.commit().await?;
        Ok(Admin { id: admin_id, email })
    })
}
