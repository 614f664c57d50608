//! The usage indexes of this process, per open database and team. The report
//! engine owns them (the database handle holds no report state); an index is
//! rebuilt when its team's `data_version` moved, and dropped with its database.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::UsageIndex;
use crate::db::{Db, DbIdentity, on_db};
use crate::error::Result;

/// Every index of the process: one database in a server, many in the tests.
static INDEXES: LazyLock<IndexCache> = LazyLock::new(IndexCache::default);

struct Cached {
    db: DbIdentity,
    index: Arc<UsageIndex>,
}

/// Indexes by (database, team).
#[derive(Default)]
pub struct IndexCache {
    teams: Mutex<HashMap<(usize, i64), Cached>>,
    /// One build at a time: concurrent first views wait for the same build.
    building: tokio::sync::Mutex<()>,
}

impl IndexCache {
    /// The team's index, rebuilt when its charges changed since it was built.
    async fn get(&self, db: &Db, team_id: i64) -> Result<Arc<UsageIndex>> {
        let version = on_db!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT data_version FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0));
        let key = (db.identity().key(), team_id);
        let cached = |cache: &IndexCache| {
            let teams = cache.teams.lock().ok()?;
            teams.get(&key).filter(|c| c.index.version == version).map(|c| c.index.clone())
        };
        if let Some(index) = cached(self) {
            return Ok(index);
        }
        let _building = self.building.lock().await;
        if let Some(index) = cached(self) {
            return Ok(index);
        }
        let started = std::time::Instant::now();
        let index = Arc::new(UsageIndex::load(db, team_id, version).await?);
        metrics::histogram!("tokenboard_usage_index_build_seconds").record(started.elapsed().as_secs_f64());
        if let Ok(mut teams) = self.teams.lock() {
            // Indexes of databases no longer open would only hold memory.
            teams.retain(|_, c| c.db.is_open());
            teams.insert(key, Cached { db: db.identity(), index: index.clone() });
            let bytes: usize = teams.values().map(|c| c.index.heap_bytes()).sum();
            metrics::gauge!("tokenboard_usage_index_bytes").set(bytes as f64);
        }
        Ok(index)
    }
}

/// The team's usage index, from the cache when its data has not changed.
pub(super) async fn index_of(db: &Db, team_id: i64) -> Result<Arc<UsageIndex>> {
    INDEXES.get(db, team_id).await
}

/// Builds (or refreshes) the usage index of `team_id` ahead of the first view
/// that needs it: the server calls this at start and after an API import.
pub async fn warm(db: &Db, team_id: i64) -> Result<()> {
    index_of(db, team_id).await.map(|_| ())
}
