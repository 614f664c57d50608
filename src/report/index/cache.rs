//! The usage indexes of this process, per open database and team. The report
//! engine owns them (the database handle holds no report state); an index
//! follows its team's `data_version`: patched with the days that changed
//! when the change log covers the gap (or layered with the days an import
//! handed over, and compacted in the background), else rebuilt; dropped with
//! its database.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::OwnedMutexGuard;

use super::changes::{self, Refresh};
use super::{Origin, UsageIndex, imported};
use crate::db::{Db, DbIdentity};
use crate::error::Result;

/// Every index of the process: one database in a server, many in the tests.
static INDEXES: LazyLock<IndexCache> = LazyLock::new(IndexCache::default);

struct Cached {
    db: DbIdentity,
    index: Arc<UsageIndex>,
}

/// (database, team).
type Key = (usize, i64);

/// Indexes by (database, team).
#[derive(Default)]
pub struct IndexCache {
    teams: Mutex<HashMap<Key, Cached>>,
    /// One refresh per team at a time (a compaction in the background
    /// counts as one): concurrent views of a team wait for the same one,
    /// views of other teams do not wait.
    refreshing: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

impl IndexCache {
    /// The index kept for `key`, whatever its version.
    fn cached(&self, key: Key) -> Option<Arc<UsageIndex>> {
        self.teams.lock().ok()?.get(&key).map(|c| c.index.clone())
    }

    /// The team's index, brought up to date when its charges changed since.
    async fn get(&self, db: &Db, team_id: i64) -> Result<Arc<UsageIndex>> {
        let version = crate::domain::teams::data_version(db, team_id).await?;
        let key = (db.identity().key(), team_id);
        let cached = || self.cached(key);
        if let Some(index) = cached().filter(|i| i.version >= version) {
            return Ok(index);
        }
        let turn = self.refreshing.lock().map(|mut turns| turns.entry(key).or_default().clone());
        let turn = turn.unwrap_or_default().lock_owned().await;
        // A refresh that ran meanwhile may have read this version or a newer one.
        let stale = match cached() {
            Some(index) if index.version >= version => return Ok(index),
            stale => stale,
        };
        let started = std::time::Instant::now();
        let patched = match stale {
            Some(stale) => patch(db, team_id, stale, version).await.unwrap_or_else(|error| {
                // A rebuild still answers; the failure is for the log.
                tracing::warn!(team_id, %error, "could not patch the usage index; rebuilding it");
                None
            }),
            None => None,
        };
        let index = Arc::new(match patched {
            Some(index) => index,
            None => UsageIndex::load(db, team_id, version).await?,
        });
        self.install(db, key, index.clone(), started);
        if index.recent.is_some() {
            // The team's turn passes to the compaction: a refresh of the
            // team waits for it rather than compacting again.
            compact_in_background(db.clone(), key, index.clone(), turn);
        }
        Ok(index)
    }

    /// Keeps `index` for `key` unless a newer one is kept already.
    fn install(&self, db: &Db, key: Key, index: Arc<UsageIndex>, started: std::time::Instant) {
        imported::discard_up_to(db, key.1, index.version);
        let origin = match index.origin {
            Origin::Build => "build",
            Origin::Patch => "patch",
            Origin::ImportedDays => "imported days",
            Origin::Compacted => "compaction",
        };
        metrics::histogram!("tokenboard_usage_index_build_seconds", "how" => origin)
            .record(started.elapsed().as_secs_f64());
        if let Ok(mut teams) = self.teams.lock() {
            // Indexes of databases no longer open would only hold memory.
            teams.retain(|_, c| c.db.is_open());
            // Never over a newer index (a slower refresh that read an older version).
            if teams.get(&key).is_none_or(|c| c.index.version <= index.version) {
                teams.insert(key, Cached { db: db.identity(), index });
            }
            let bytes: usize = teams.values().map(|c| c.index.heap_bytes()).sum();
            metrics::gauge!("tokenboard_usage_index_bytes").set(bytes as f64);
            if let Ok(mut turns) = self.refreshing.lock() {
                // A turn someone holds or waits for (a first build) stays.
                turns.retain(|key, turn| Arc::strong_count(turn) > 1 || teams.contains_key(key));
            }
        }
    }
}

/// Merges the recent layer of `index` into one on a thread of low priority,
/// then keeps the result in its place (views answer from the layers
/// meanwhile), holding the team's `turn` until then.
fn compact_in_background(db: Db, key: Key, index: Arc<UsageIndex>, turn: OwnedMutexGuard<()>) {
    tokio::spawn(async move {
        let _turn = turn;
        let started = std::time::Instant::now();
        match at_low_priority(move || index.compacted()).await {
            Ok(Some(compacted)) => {
                tracing::debug!(team_id = key.1, took = ?started.elapsed(), "usage index compacted");
                INDEXES.install(&db, key, Arc::new(compacted), started);
            }
            // No recent layer: nothing to merge.
            Ok(None) => {}
            Err(error) => tracing::warn!(team_id = key.1, %error, "could not compact the usage index"),
        }
    });
}

/// `work`'s result, computed on a thread of its own that yields the CPU to
/// the process's other threads (Linux: 10 nicer, which `nice` makes a
/// per-thread setting there): the views that answer from the layers
/// meanwhile, among them the one that laid them, go first.
async fn at_low_priority<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("index-compaction".into()).spawn(move || {
        #[cfg(target_os = "linux")]
        // SAFETY: a plain system call on the calling thread; a failure only leaves its priority as it was.
        unsafe {
            libc::nice(10);
        }
        let _ = done.send(work());
    })?;
    result.await.map_err(|_| std::io::Error::other("the compaction thread panicked"))
}

/// `stale` brought up to date by the days that changed, at least to
/// `version`; `None`: rebuild it.
async fn patch(db: &Db, team_id: i64, stale: Arc<UsageIndex>, version: i64) -> Result<Option<UsageIndex>> {
    let started = std::time::Instant::now();
    // The charges the import of exactly this version handed over: no read.
    // They become a layer over the stale index, which a view can answer
    // from at once; the copy that merges them waits for the background.
    if let Some(days) = imported::take(db, team_id, stale.version, version) {
        let charges = days.charges.len();
        let stale_again = stale.clone();
        let patched = tokio::task::spawn_blocking(move || {
            let window = days.window_for(&stale_again)?;
            match stale_again.recent {
                None => stale_again.layered(version, window),
                // Still layered (its compaction failed): merge all at once.
                Some(_) => stale_again.patched(version, window),
            }
        })
        .await?;
        tracing::debug!(team_id, charges, took = ?started.elapsed(), "usage index given an import's charges");
        if patched.is_some() {
            return Ok(patched);
        }
    }
    match changes::since(db, team_id, &stale).await? {
        // A pass over every entry: off the async threads.
        Refresh::Patch(version, window) => {
            let (read, charges) = (started.elapsed(), window.charges.len());
            let patched = tokio::task::spawn_blocking(move || stale.patched(version, window)).await?;
            tracing::debug!(team_id, charges, ?read, splice = ?started.elapsed() - read, "usage index patched");
            Ok(patched)
        }
        Refresh::Rebuild => Ok(None),
    }
}

/// The team's usage index, from the cache when its data has not changed.
pub(super) async fn index_of(db: &Db, team_id: i64) -> Result<Arc<UsageIndex>> {
    INDEXES.get(db, team_id).await
}

/// The data version of the team's index in the cache, without refreshing it
/// (`None`: none built yet).
#[cfg(feature = "test-support")]
pub fn cached_version(db: &Db, team_id: i64) -> Option<i64> {
    INDEXES.cached((db.identity().key(), team_id)).map(|index| index.version)
}

/// Waits for the team's refresh or compaction under way, if any.
#[cfg(feature = "test-support")]
pub async fn settled(db: &Db, team_id: i64) {
    let turn = INDEXES.refreshing.lock().ok().and_then(|turns| turns.get(&(db.identity().key(), team_id)).cloned());
    if let Some(turn) = turn {
        drop(turn.lock().await);
    }
}

/// The bytes the team's usage index holds (built first if need be).
pub async fn resident_bytes(db: &Db, team_id: i64) -> Result<usize> {
    Ok(index_of(db, team_id).await?.heap_bytes())
}

/// Builds (or refreshes) the usage index of `team_id` ahead of the first view
/// that needs it: the server calls this at start.
pub async fn warm(db: &Db, team_id: i64) -> Result<()> {
    index_of(db, team_id).await.map(|_| ())
}

/// Patches the team's usage index on a task of its own, right after a change
/// of its charges (an upload, an API import, an undo): the admin's next view
/// finds it current instead of waiting for the patch.
pub fn refresh_in_background(db: &Db, team_id: i64) {
    let db = db.clone();
    tokio::spawn(async move {
        if let Err(error) = warm(&db, team_id).await {
            tracing::warn!(team_id, %error, "could not refresh the usage index after a change");
        }
    });
}
