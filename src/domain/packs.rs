//! Token packs and the team's ledger (balance, expirations, overdrafts).

use chrono::{Months, NaiveDate, Utc};

use crate::db::{Db, on_db};
use crate::domain::ledger::{Ledger, Pack};
use crate::error::{Error, Result};

/// Packs last one year unless told otherwise.
pub fn default_expiry(purchased_on: NaiveDate) -> NaiveDate {
    purchased_on + Months::new(12)
}

pub async fn add_pack(
    db: &Db,
    team_id: i64,
    tokens: i64,
    purchased_on: NaiveDate,
    expires_on: Option<NaiveDate>,
) -> Result<Pack> {
    if tokens <= 0 {
        return Err(Error::Invalid(format!("a pack must hold a positive number of tokens, not {tokens}")));
    }
    let expires_on = expires_on.unwrap_or_else(|| default_expiry(purchased_on));
    if expires_on <= purchased_on {
        return Err(Error::Invalid(format!(
            "a pack must expire after its purchase ({expires_on} is not after {purchased_on})"
        )));
    }
    let sql = "INSERT INTO token_packs (team_id, tokens, purchased_on, expires_on, created_at)
               VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let id = on_db!(db, |pool| sqlx::query_scalar::<_, i64>(sql)
        .bind(team_id)
        .bind(tokens)
        .bind(purchased_on)
        .bind(expires_on)
        .bind(Utc::now())
        .fetch_one(pool)
        .await?);
    Ok(Pack { id, tokens, purchased_on, expires_on })
}

pub async fn packs(db: &Db, team_id: i64) -> Result<Vec<Pack>> {
    let sql = "SELECT id, tokens, purchased_on, expires_on FROM token_packs WHERE team_id = $1 ORDER BY id";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64, NaiveDate, NaiveDate)>(sql)
        .bind(team_id)
        .fetch_all(pool)
        .await?);
    Ok(rows
        .into_iter()
        .map(|(id, tokens, purchased_on, expires_on)| Pack { id, tokens, purchased_on, expires_on })
        .collect())
}

/// Tokens charged per day, from the daily rollup.
pub async fn daily_usage(db: &Db, team_id: i64, through: NaiveDate) -> Result<Vec<(NaiveDate, i64)>> {
    let sql = "SELECT usage_date, tokens FROM daily_usage WHERE team_id = $1 AND usage_date <= $2 ORDER BY usage_date";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, (NaiveDate, i64)>(sql)
        .bind(team_id)
        .bind(through)
        .fetch_all(pool)
        .await?))
}

/// The team's ledger through `through` (usually the team's today).
pub async fn ledger(db: &Db, team_id: i64, through: NaiveDate) -> Result<Ledger> {
    let packs = packs(db, team_id).await?;
    let usage = daily_usage(db, team_id, through).await?;
    Ok(Ledger::simulate(&packs, &usage, through))
}
