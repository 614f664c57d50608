//! Report answers kept for the data they were computed from. Admins of a
//! team ask the same questions again and again (a dashboard's views, the
//! pages of a table), and until the team's charges change the answers
//! cannot: an answer is keyed by the database, the team's `data_version`
//! (bumped in the transaction of every change) and the whole query. A change
//! makes new keys, so nothing is invalidated by hand; old answers leave the
//! bounded cache as they age. Concurrent askers of one key wait for one
//! computation. Whole user tables (an export's) are not kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::db::{Db, DbIdentity};
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
    let data_version = crate::domain::teams::data_version(db, q.team_id).await?;
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
