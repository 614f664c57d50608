//! Report answers kept for the data they were computed from. Admins of a
//! team ask the same questions again and again (a dashboard's views, the
//! pages of a table), and until the team's charges change the answers
//! cannot: an answer is keyed by the database, the team's `data_version`
//! (bumped in the transaction of every change) and the whole query. A change
//! makes new keys, so nothing is invalidated by hand; old answers leave the
//! bounded cache as they age. Concurrent askers of one key wait for one
//! computation. Whole user tables (an export's) are not kept.
//!
//! A team's ledger state (packs, moves, daily usage, the ledger and its
//! run-out day) is kept the same way, keyed by its `data_version` and its
//! `ledger_version` (bumped by every pack, move and adjustment).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::NaiveDate;

use crate::db::{Db, DbIdentity};
use crate::domain::forecast::Forecast;
use crate::domain::packs::BalanceState;
use crate::error::{Error, Result};
use crate::report::{Dimension, ReportQuery, ReportResult};

/// Rows kept in all (a page of a table is 50; a year by day 365).
const MAX_ROWS: u64 = 200_000;
/// An answer nobody asked for this long is dropped.
const IDLE: Duration = Duration::from_secs(15 * 60);

#[derive(Hash, PartialEq, Eq)]
struct Key {
    db: usize,
    data_version: i64,
    query: ReportQuery,
}

struct Kept {
    /// Held, not read: while an answer is kept, the address its key names
    /// stays allocated, so no database opened later can have that key.
    _db: DbIdentity,
    result: ReportResult,
}

static ANSWERS: LazyLock<moka::future::Cache<Key, Arc<Kept>>> = LazyLock::new(|| {
    moka::future::Cache::builder()
        .max_capacity(MAX_ROWS)
        .weigher(|_, kept: &Arc<Kept>| u32::try_from(kept.result.rows.len() + 1).unwrap_or(u32::MAX))
        .time_to_idle(IDLE)
        .build()
});

/// Teams' ledger states kept (one per team and day is what is asked).
const MAX_LEDGERS: u64 = 1_000;

#[derive(Hash, PartialEq, Eq)]
struct LedgerKey {
    db: usize,
    team_id: i64,
    /// (`data_version`, `ledger_version`).
    versions: (i64, i64),
    today: NaiveDate,
}

struct KeptLedger {
    _db: DbIdentity,
    state: BalanceState,
    /// The full forecast, made by the first who asks for it.
    forecast: std::sync::OnceLock<Forecast>,
}

static LEDGERS: LazyLock<moka::future::Cache<LedgerKey, Arc<KeptLedger>>> =
    LazyLock::new(|| moka::future::Cache::builder().max_capacity(MAX_LEDGERS).time_to_idle(IDLE).build());

tokio::task_local! {
    /// The versions of one team a screen reads its data at ([`at_one_version`]).
    static PINNED: Pinned;
}

#[derive(Clone, Copy)]
struct Pinned {
    db: usize,
    team_id: i64,
    /// (`data_version`, `ledger_version`).
    versions: (i64, i64),
}

/// Runs `screen` (the reads of one screen of `team_id`) with the team's
/// versions read once, when it starts: every answer and ledger state it asks
/// for is kept for those versions, rather than each reading them again. One
/// page's numbers are then also from one version of the data.
pub async fn at_one_version<T>(db: &Db, team_id: i64, screen: impl Future<Output = Result<T>>) -> Result<T> {
    if !ENABLED.load(Ordering::Relaxed) {
        return screen.await;
    }
    let versions = crate::domain::teams::versions(db, team_id).await?;
    PINNED.scope(Pinned { db: db.identity().key(), team_id, versions }, screen).await
}

/// The team's versions: those the screen being read pinned, else read now.
async fn versions(db: &Db, team_id: i64) -> Result<(i64, i64)> {
    let pinned = PINNED.try_with(|p| (p.db == db.identity().key() && p.team_id == team_id).then_some(p.versions));
    match pinned {
        Ok(Some(versions)) => Ok(versions),
        _ => crate::domain::teams::versions(db, team_id).await,
    }
}

/// Off for `tokenboard bench`, which times the computation itself.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns keeping answers on or off for this process.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// A whole user table (no page) can be as long as the team: computed each time.
fn worth_keeping(q: &ReportQuery) -> bool {
    q.page.is_some() || !q.dimensions.contains(&Dimension::User)
}

/// The answer to `q`: kept from an earlier identical question on the same
/// data, or computed by `compute` (once, however many ask at the same time).
pub(crate) async fn answer<F>(db: &Db, q: &ReportQuery, compute: F) -> Result<ReportResult>
where
    F: std::future::Future<Output = Result<ReportResult>>,
{
    if !ENABLED.load(Ordering::Relaxed) || !worth_keeping(q) {
        return compute.await;
    }
    let (data_version, _) = versions(db, q.team_id).await?;
    let key = Key { db: db.identity().key(), data_version, query: q.clone() };
    let identity = db.identity();
    let kept = ANSWERS
        .try_get_with(key, async move {
            metrics::counter!("tokenboard_report_computations_total").increment(1);
            compute.await.map(|result| Arc::new(Kept { _db: identity, result }))
        })
        .await
        .map_err(Error::Shared)?;
    metrics::counter!("tokenboard_report_answers_total").increment(1);
    Ok(kept.result.clone())
}

/// The team's balance state through `today` (`domain::packs::balance_state`):
/// its ledger kept from an earlier question on the same charges and packs,
/// its outlook under the alert thresholds of now.
pub async fn balance_state(db: &Db, team_id: i64, today: NaiveDate) -> Result<BalanceState> {
    if !ENABLED.load(Ordering::Relaxed) {
        return crate::domain::packs::balance_state(db, team_id, today).await;
    }
    let kept = kept_ledger(db, team_id, today).await?;
    kept.state.clone().with_outlook(db, team_id, today).await
}

/// The team's full forecast through `today` and its balance state, both
/// kept like [`balance_state`]'s.
pub async fn forecast(db: &Db, team_id: i64, today: NaiveDate) -> Result<(Forecast, BalanceState)> {
    let forecast_of = |s: &BalanceState| crate::domain::forecast::forecast(&s.packs, &s.entries, &s.usage, today);
    if !ENABLED.load(Ordering::Relaxed) {
        let state = crate::domain::packs::balance_state(db, team_id, today).await?;
        return Ok((forecast_of(&state), state));
    }
    let kept = kept_ledger(db, team_id, today).await?;
    let forecast = kept.forecast.get_or_init(|| forecast_of(&kept.state)).clone();
    Ok((forecast, kept.state.clone().with_outlook(db, team_id, today).await?))
}

async fn kept_ledger(db: &Db, team_id: i64, today: NaiveDate) -> Result<Arc<KeptLedger>> {
    let versions = versions(db, team_id).await?;
    let key = LedgerKey { db: db.identity().key(), team_id, versions, today };
    let identity = db.identity();
    LEDGERS
        .try_get_with(key, async move {
            let state = crate::domain::packs::ledger_state(db, team_id, today).await?;
            Ok::<_, Error>(Arc::new(KeptLedger { _db: identity, state, forecast: std::sync::OnceLock::new() }))
        })
        .await
        .map_err(Error::Shared)
}
