//! Team API keys: create, list, revoke, and the check of an API call's key.
//! Imports the database, `secrets` and `auth` (its refusal type).

use chrono::Utc;

use crate::access::auth::AccessError;
use crate::access::secrets::{random_secret, sha256_hex};
use crate::db::{Db, on_db};
use crate::domain::teams::Team;
use crate::error::{Error, Result};

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
    Ok(authorize_api_key_labelled(db, key, slug).await?.0)
}

/// [`authorize_api_key`], with the key's label (an import records who sent it).
pub async fn authorize_api_key_labelled(db: &Db, key: &str, slug: &str) -> Result<(Team, String), AccessError> {
    let sql = "SELECT t.id, t.slug, t.name, t.time_zone, t.personal_data, k.id, k.label
               FROM api_keys k JOIN teams t ON t.id = k.team_id
               WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.slug = $2";
    let row = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String, bool, i64, String)>(sql)
        .bind(sha256_hex(key))
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(Error::from)?);
    let (id, slug, name, time_zone, personal_data, key_id, label) = row.ok_or(AccessError::NotFound)?;
    let touch = "UPDATE api_keys SET last_used_at = $1 WHERE team_id = $2 AND id = $3";
    on_db!(db, |pool| sqlx::query(touch)
        .bind(Utc::now())
        .bind(id)
        .bind(key_id)
        .execute(pool)
        .await
        .map_err(Error::from)?
        .rows_affected());
    Ok((Team { id, slug, name, time_zone, personal_data }, label))
}
