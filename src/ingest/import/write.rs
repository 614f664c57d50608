//! Storing charges in one transaction (DESIGN §5): users, products and
//! versions are added, the file's rows are summed per natural key in a
//! staging table (several uses of a per-use service on one day add up), then
//! merged: a new key is inserted, a key stored with other tokens is a
//! correction (its previous value kept for undo), an equal one is left
//! alone. The rollups of the touched days and products are recomputed before commit;
//! those of days that held none of the team's charges are tallied on the
//! way instead (`keys`). Keys that cannot meet a stored charge skip the
//! staging table and the merge: on SQLite those of such days, straight into
//! the charges (`new_days`); on PostgreSQL those of a team's first import,
//! straight into its new table of charges ([`FirstCharges`]). The rows of a
//! chunk's last day wait for the next chunk, so that a file in day order
//! hands each day over whole.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use chrono::NaiveDate;

use super::history::{ImportRecordDraft, TAKE_OWNERSHIP, insert_import};
use super::keys::{DayText, RollupTally, StagedKey};
use super::new_days::{NewDays, OnSqlite};
use super::raw_sqlite::{InsertOrAdd, on_raw_handle};
use super::{ChargeRow, ImportError, ImportOutcome, ImportProgress, ImportStatus, MAX_LISTED_NEW_USERS};
use crate::db::{Db, Pool, on_db};
use crate::domain::products::name_key;
use crate::error::Error;

/// Rows per INSERT statement (SQLite allows 32,766 parameters).
const INSERT_BATCH: usize = 1000;

/// Charges read from a file (or generated) a chunk at a time.
pub trait ChargeSource: Send {
    /// The next charges; empty at the end.
    fn next_chunk(&mut self) -> impl std::future::Future<Output = Vec<ChargeRow>> + Send;
    /// A row was refused: the rest is only read for its errors, and nothing
    /// is written.
    fn failed(&self) -> bool;
    /// Bytes of the file read so far, when the source knows.
    fn bytes_read(&self) -> Option<u64> {
        None
    }
}

/// Charges already in memory (the demo generator, tests).
pub struct InMemory<'a>(pub Option<&'a [ChargeRow]>);

impl ChargeSource for InMemory<'_> {
    async fn next_chunk(&mut self) -> Vec<ChargeRow> {
        self.0.take().map(<[ChargeRow]>::to_vec).unwrap_or_default()
    }

    fn failed(&self) -> bool {
        false
    }
}

/// The staging tables of one import: the file's rows summed per key (and,
/// on PostgreSQL, a bare table each chunk is copied into first). Temporary
/// tables live on their connection; they are emptied before and after use.
fn staging_tables(db: &Db) -> &'static [&'static str] {
    match db.pool() {
        Pool::Sqlite(_) => &["CREATE TEMP TABLE IF NOT EXISTS import_keys (
                user_id INTEGER NOT NULL, product_id INTEGER NOT NULL, usage_date TEXT NOT NULL,
                feature TEXT NOT NULL, product_version TEXT NOT NULL, tokens INTEGER NOT NULL,
                PRIMARY KEY (usage_date, product_id, user_id, feature)) WITHOUT ROWID"],
        Pool::Postgres(_) => &[
            "CREATE TEMP TABLE IF NOT EXISTS import_keys (
                user_id BIGINT NOT NULL, product_id BIGINT NOT NULL, usage_date DATE NOT NULL,
                feature TEXT NOT NULL, product_version TEXT NOT NULL, tokens BIGINT NOT NULL,
                PRIMARY KEY (usage_date, product_id, user_id, feature))",
            "CREATE TEMP TABLE IF NOT EXISTS import_chunk (LIKE import_keys)",
        ],
    }
}

/// The upsert that adds staged keys to `import_keys`, summing a key an
/// earlier chunk staged (the version of the later row wins).
const UPSERT_STAGED: &str = " ON CONFLICT (usage_date, product_id, user_id, feature) DO UPDATE
    SET tokens = import_keys.tokens + excluded.tokens, product_version = excluded.product_version";

/// What staging keeps across an import's chunks.
#[derive(Default)]
struct Staging {
    /// The days earlier chunks staged (PostgreSQL: only their keys can meet
    /// a staged key).
    days: HashSet<NaiveDate>,
    /// PostgreSQL, a team's first import: its table of charges
    /// ([`FirstCharges`]), made by the first keys copied into it (an import
    /// of no row leaves the team without one), into which keys of days no
    /// earlier chunk staged are copied straight, with the team and the import.
    first_table: Option<(String, i64, Option<i64>)>,
    /// Keys copied straight into that table (each a charge of its own); the
    /// table exists once there are any.
    copied: u64,
}

/// How each backend adds a chunk's keys to the staging table (or, for
/// PostgreSQL's first import, to the team's new table).
trait StageKeys {
    fn stage_keys(
        &mut self,
        keys: &[StagedKey<'_>],
        staging: &mut Staging,
    ) -> impl std::future::Future<Output = Result<(), ImportError>> + Send;
}

/// SQLite: one prepared insert stepped once a key on the import's own
/// connection (`raw_sqlite`), which finds out key by key whether the key
/// was staged before: the staged days are not needed.
impl StageKeys for sqlx::SqliteConnection {
    async fn stage_keys(&mut self, keys: &[StagedKey<'_>], _: &mut Staging) -> Result<(), ImportError> {
        let stage = InsertOrAdd {
            insert: "INSERT INTO import_keys (usage_date, product_id, user_id, feature, product_version, tokens)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            add: "UPDATE import_keys SET product_version = ?5, tokens = tokens + ?6
                  WHERE usage_date = ?1 AND product_id = ?2 AND user_id = ?3 AND feature = ?4",
            fixed: &[],
        };
        on_raw_handle(self, |direct| stage.run(direct, keys)).await?;
        Ok(())
    }
}

/// PostgreSQL: `COPY`. Keys of days that no earlier chunk staged cannot
/// meet a staged key: they are copied straight into the staging table, or
/// on a team's first import into its new table of charges. The others go
/// into a bare table first and are summed into the staging table by one
/// upsert (binding six parameters a key cost a year's import about a fifth
/// of its time; the upsert's speculative insertion a key, a third of a
/// year's staging, is left to the keys that may need it).
impl StageKeys for sqlx::PgConnection {
    async fn stage_keys(&mut self, keys: &[StagedKey<'_>], staging: &mut Staging) -> Result<(), ImportError> {
        let (unstaged, restaged): (Vec<_>, Vec<_>) =
            keys.iter().copied().partition(|((day, ..), _)| !staging.days.contains(day));
        staging.days.extend(unstaged.iter().map(|((day, ..), _)| *day));
        let unstaged_into = match &staging.first_table {
            Some((table, team_id, import_id)) => (table.clone(), Some((*team_id, *import_id))),
            None => ("import_keys".to_owned(), None),
        };
        if staging.first_table.is_some() && staging.copied == 0 && !unstaged.is_empty() {
            sqlx::query(&format!(
                "CREATE TABLE {} (LIKE usage_charges INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
                unstaged_into.0
            ))
            .execute(&mut *self)
            .await?;
        }
        for (keys, (table, owner)) in [(&unstaged, unstaged_into), (&restaged, ("import_chunk".to_owned(), None))] {
            if keys.is_empty() {
                continue;
            }
            let owner_columns = if owner.is_some() { "team_id, import_id, " } else { "" };
            // Empty text is '' (FORCE_NOT_NULL), never NULL; csv quotes what
            // needs it; an empty import id is NULL.
            let mut copy = self
                .copy_in_raw(&format!(
                    "COPY {table} ({owner_columns}usage_date, product_id, user_id, feature, product_version, tokens)
                     FROM STDIN (FORMAT csv, FORCE_NOT_NULL (feature, product_version))"
                ))
                .await?;
            copy.send(keys_as_csv(keys, owner)?).await?;
            copy.finish().await?;
            if owner.is_some() {
                staging.copied += keys.len() as u64;
            }
        }
        if !restaged.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO import_keys (usage_date, product_id, user_id, feature, product_version, tokens)
                 SELECT usage_date, product_id, user_id, feature, product_version, tokens FROM import_chunk {UPSERT_STAGED}"
            ))
            .execute(&mut *self)
            .await?;
            sqlx::query("TRUNCATE import_chunk").execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// Staged keys as `COPY`'s CSV: day, product, user, feature, version,
/// tokens — after the team and the import with `owner`.
fn keys_as_csv(keys: &[StagedKey<'_>], owner: Option<(i64, Option<i64>)>) -> Result<Vec<u8>, Error> {
    let to_io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    let mut rows = csv::Writer::from_writer(Vec::with_capacity(keys.len() * 48));
    let (mut day_text, mut number) = (DayText::default(), itoa::Buffer::new());
    // An empty import id, unquoted, is NULL.
    let owner = owner.map(|(team_id, import_id)| (team_id.to_string(), import_id.map(|id| id.to_string())));
    for &((usage_date, product_id, user_id, feature), (version, tokens)) in keys {
        if let Some((team_id, import_id)) = &owner {
            rows.write_field(team_id).map_err(to_io)?;
            rows.write_field(import_id.as_deref().unwrap_or_default()).map_err(to_io)?;
        }
        rows.write_field(day_text.of(usage_date)).map_err(to_io)?;
        rows.write_field(number.format(product_id)).map_err(to_io)?;
        rows.write_field(number.format(user_id)).map_err(to_io)?;
        rows.write_field(feature).map_err(to_io)?;
        rows.write_field(version).map_err(to_io)?;
        rows.write_field(number.format(tokens)).map_err(to_io)?;
        rows.write_record(None::<&[u8]>).map_err(to_io)?;
    }
    rows.into_inner().map_err(|e| Error::Io(e.into_error()))
}

/// The stored charges a staged key corrects — other tokens, or another
/// version (the version rollups follow it) — (`$2` is the team). `CROSS
/// JOIN` makes SQLite walk the staged keys and probe the charges' unique
/// index, never the other way round (a scan of every charge per import).
const CORRECTED: &str = "FROM import_keys k CROSS JOIN usage_charges c
    WHERE c.team_id = $2 AND c.user_id = k.user_id AND c.product_id = k.product_id
    AND c.usage_date = k.usage_date AND c.feature = k.feature
    AND (c.tokens <> k.tokens OR c.product_version <> k.product_version)";

/// Binds: import id (NULL without history), team.
const RECORD_CORRECTIONS: &str = "INSERT INTO import_corrections
    (import_id, charge_id, previous_tokens, previous_version, previous_import_id)
    SELECT $1, c.id, c.tokens, c.product_version, c.import_id {CORRECTED}";
/// The staged key of a charge, for the correction's new values.
const ITS_KEY: &str = "FROM import_keys k WHERE k.user_id = usage_charges.user_id
    AND k.product_id = usage_charges.product_id AND k.usage_date = usage_charges.usage_date
    AND k.feature = usage_charges.feature";
const APPLY_CORRECTIONS: &str = "UPDATE usage_charges
    SET tokens = (SELECT k.tokens {ITS_KEY}), product_version = (SELECT k.product_version {ITS_KEY}), import_id = $1
    WHERE team_id = $2 AND id IN (SELECT c.id {CORRECTED})";
/// Inserts the staged keys as charges, followed by `$tail`.
macro_rules! insert_staged {
    ($tail:literal) => {
        concat!(
            "INSERT INTO usage_charges
    (team_id, user_id, product_id, product_version, feature, usage_date, tokens, import_id)
    SELECT $2, k.user_id, k.product_id, k.product_version, k.feature, k.usage_date, k.tokens, $1
    FROM import_keys k",
            $tail
        )
    };
}
const INSERT_NEW: &str =
    insert_staged!(" WHERE TRUE ON CONFLICT (team_id, usage_date, user_id, product_id, feature) DO NOTHING");
/// Into days that held none of the team's charges, no stored key can
/// conflict: a plain insert spares PostgreSQL a speculative insertion a row.
const INSERT_INTO_EMPTY_DAYS: &str = insert_staged!("");

/// PostgreSQL keeps each team's charges in a table of their own, a
/// partition of `usage_charges` (migration 0025) that the team's first
/// import creates.
fn team_charges_table(team_id: i64) -> String {
    format!("usage_charges_of_team_{team_id}")
}

/// How each backend writes a team's very first charges, when it has a
/// faster way than [`INSERT_INTO_EMPTY_DAYS`]: `first_charges_table`, as
/// the import begins, answers the table that staging makes and copies new
/// days' keys into ([`Staging::first_table`]), or `None` (the import stages
/// and merges as usual); once that table was made, `finish_first_charges`
/// puts the staged keys into it too and makes it the team's before the
/// rollups.
trait FirstCharges {
    fn first_charges_table(
        &mut self,
        team_id: i64,
    ) -> impl std::future::Future<Output = Result<Option<String>, Error>> + Send;
    fn finish_first_charges(
        &mut self,
        table: &str,
        team_id: i64,
        import_id: Option<i64>,
        staged_keys: u64,
    ) -> impl std::future::Future<Output = Result<FirstChargesDone, Error>> + Send;
}

/// What [`FirstCharges::finish_first_charges`] did with the staged keys.
#[derive(Default)]
struct FirstChargesDone {
    /// Staged keys inserted as charges (a folded one among them).
    inserted: u64,
    /// Staged keys whose charge had been copied before, by day: that charge
    /// was taken out and its tokens added to the staged key.
    folded: Vec<(NaiveDate, i64)>,
}

/// SQLite drops and rebuilds its secondary indexes around a large import instead.
impl FirstCharges for sqlx::SqliteConnection {
    async fn first_charges_table(&mut self, _: i64) -> Result<Option<String>, Error> {
        Ok(None)
    }
    async fn finish_first_charges(
        &mut self,
        _: &str,
        _: i64,
        _: Option<i64>,
        _: u64,
    ) -> Result<FirstChargesDone, Error> {
        Ok(FirstChargesDone::default())
    }
}

/// The keys of a team's table of charges, as migration 0025 gives the
/// parent (attaching adopts them instead of building its own: the test
/// `each_team_s_charges_live_in_a_table_of_its_own` counts them).
const TEAM_TABLE_KEYS: [&str; 3] = [
    "ALTER TABLE {table} ADD PRIMARY KEY (team_id, id),
     ADD UNIQUE (team_id, usage_date, user_id, product_id, feature), ADD CHECK (team_id = {team})",
    "CREATE INDEX ON {table} (team_id, user_id, usage_date)",
    "CREATE INDEX ON {table} (team_id, product_id, usage_date)",
];

/// PostgreSQL, a team without a table of charges yet: they go into a new
/// table without indexes — new days' keys copied as they are staged, the
/// others from the staging table at the merge — which then gets its keys,
/// each built once by a sort (a year's first import otherwise spends most
/// of its time inserting every charge into four b-trees), and becomes the
/// team's partition before the rollups, which may read it. Attaching takes
/// a lock on the parent that only another attachment (another team's first
/// import) waits for, until this import commits; its `CHECK` spares the
/// attachment a scan. The memory is the key builds' sort space in this
/// transaction (the server's default, 64 MB, sorts a year's keys on disk).
impl FirstCharges for sqlx::PgConnection {
    async fn first_charges_table(&mut self, team_id: i64) -> Result<Option<String>, Error> {
        let table = team_charges_table(team_id);
        let attached: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits
             WHERE inhparent = 'usage_charges'::regclass AND inhrelid = to_regclass($1))",
        )
        .bind(&table)
        .fetch_one(&mut *self)
        .await?;
        Ok((!attached).then_some(table))
    }

    async fn finish_first_charges(
        &mut self,
        table: &str,
        team_id: i64,
        import_id: Option<i64>,
        staged_keys: u64,
    ) -> Result<FirstChargesDone, Error> {
        // A staged key whose charge was copied before (a file not in day
        // order): the charge is taken out and its tokens added to the staged
        // key, whose version is the later. (Deleted, not updated: an update
        // of a row with no index yet may be a HOT one, which would keep the
        // indexes built below from serving this transaction and older ones.)
        let the_key = "c.usage_date = k.usage_date AND c.product_id = k.product_id
            AND c.user_id = k.user_id AND c.feature = k.feature";
        let folded: Vec<(NaiveDate, i64)> = if staged_keys == 0 {
            Vec::new()
        } else {
            sqlx::query_as(&format!(
                "WITH taken AS (DELETE FROM {table} c USING import_keys k WHERE {the_key}
                     RETURNING c.usage_date, c.product_id, c.user_id, c.feature, c.tokens),
                 summed AS (UPDATE import_keys k SET tokens = k.tokens + c.tokens FROM taken c WHERE {the_key}
                     RETURNING k.usage_date)
                 SELECT usage_date, COUNT(*) FROM summed GROUP BY usage_date"
            ))
            .fetch_all(&mut *self)
            .await?
        };
        let inserted = sqlx::query(&INSERT_INTO_EMPTY_DAYS.replacen("INTO usage_charges", &format!("INTO {table}"), 1))
            .bind(import_id)
            .bind(team_id)
            .execute(&mut *self)
            .await?
            .rows_affected();
        sqlx::query("SET LOCAL maintenance_work_mem = '256MB'").execute(&mut *self).await?;
        for keys in TEAM_TABLE_KEYS {
            sqlx::query(&keys.replace("{table}", table).replace("{team}", &team_id.to_string()))
                .execute(&mut *self)
                .await?;
        }
        sqlx::query(&format!("ALTER TABLE usage_charges ATTACH PARTITION {table} FOR VALUES IN ({team_id})"))
            .execute(&mut *self)
            .await?;
        Ok(FirstChargesDone { inserted, folded })
    }
}

/// The charges' secondary indexes on SQLite, by name and definition: the
/// ones created by name (`origin = 'c'`) that are not unique (the merge
/// needs the unique key).
const SECONDARY_INDEXES: &str = "SELECT m.name, m.sql FROM pragma_index_list('usage_charges') l
    JOIN sqlite_master m ON m.name = l.name AND m.type = 'index'
    WHERE l.origin = 'c' AND NOT l.\"unique\" ORDER BY m.name";

fn with_join(sql: &str) -> String {
    sql.replace("{CORRECTED}", CORRECTED).replace("{ITS_KEY}", ITS_KEY)
}

/// The shared catalogue as an import sees it: products by their name key,
/// the slugs taken, and each product's versions.
#[derive(Default)]
struct Catalogue {
    products: HashMap<unicase::UniCase<String>, i64>,
    slugs: HashSet<String>,
    versions: HashMap<i64, HashSet<String>>,
}

impl Catalogue {
    /// The ids of the known products among `spellings`.
    fn products_of<'a>(&self, spellings: &[&'a str]) -> HashMap<&'a str, i64> {
        spellings.iter().filter_map(|&s| self.products.get(&name_key(s)).map(|&id| (s, id))).collect()
    }

    /// Whether a row's version needs no new catalogue entry (no version, or
    /// a version already known of a known product).
    fn has_version(&self, product_id: Option<&i64>, version: &str) -> bool {
        version.is_empty() || product_id.and_then(|id| self.versions.get(id)).is_some_and(|v| v.contains(version))
    }
}

/// Reads the catalogue into `$catalogue` through `$executor` (the import's
/// transaction, on either backend).
macro_rules! catalogue_read {
    ($catalogue:expr, $executor:expr) => {{
        let known: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT name, slug, id FROM products ORDER BY id").fetch_all($executor).await?;
        $catalogue.slugs = known.iter().map(|(_, slug, _)| slug.clone()).collect();
        $catalogue.products.clear();
        for (name, _, id) in known {
            // Names stored before the one folding rule may fold alike: the oldest wins, as in `ensure_product`.
            $catalogue.products.entry(name_key(&name)).or_insert(id);
        }
        let versions: Vec<(i64, String)> =
            sqlx::query_as("SELECT product_id, version FROM product_versions").fetch_all($executor).await?;
        $catalogue.versions.clear();
        for (product_id, version) in versions {
            $catalogue.versions.entry(product_id).or_default().insert(version);
        }
    }};
}

/// SQLite's secondary indexes of the charges while an import writes more
/// keys than the charges it found: dropped, then built again before the
/// commit (one sort each), which is faster than inserting into them all over.
#[derive(Default)]
struct DeferredIndexes {
    /// The charges' highest id when the import began.
    stored: u64,
    /// The indexes dropped, by name and definition.
    dropped: Option<Vec<(String, String)>>,
}

impl DeferredIndexes {
    /// Reads how many charges the database stores before the import writes any.
    async fn before_import(connection: &mut sqlx::SqliteConnection) -> Result<DeferredIndexes, Error> {
        let stored: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM usage_charges").fetch_one(&mut *connection).await?;
        Ok(DeferredIndexes { stored: stored.max(0) as u64, dropped: None })
    }

    /// Drops them once the import's `keys` outnumber the charges stored before it.
    async fn drop_when_outnumbered(&mut self, connection: &mut sqlx::SqliteConnection, keys: u64) -> Result<(), Error> {
        if self.dropped.is_some() || keys <= self.stored {
            return Ok(());
        }
        let dropped: Vec<(String, String)> = sqlx::query_as(SECONDARY_INDEXES).fetch_all(&mut *connection).await?;
        for (name, _) in &dropped {
            sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\""))).execute(&mut *connection).await?;
        }
        self.dropped = Some(dropped);
        Ok(())
    }

    async fn rebuild(&mut self, connection: &mut sqlx::SqliteConnection) -> Result<(), Error> {
        for (_, create) in self.dropped.take().unwrap_or_default() {
            sqlx::query(&create).execute(&mut *connection).await?;
        }
        Ok(())
    }
}

/// What a merge did, and what it added along the way.
#[derive(Default)]
pub(super) struct Written {
    pub outcome: ImportOutcome,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// The rollups were written from the tallies (its unsure days aside),
    /// not aggregated in SQL.
    pub rollups_tallied: bool,
}

/// A recorded import: its draft, and the key that recognises erased people.
pub(super) struct History<'a> {
    pub draft: &'a ImportRecordDraft,
    pub erased_key: Option<&'a crate::report::privacy::PseudonymKey>,
}

/// Writes the charges of `source` for `team_id` in one transaction. With
/// `history`, the import is recorded in the same transaction and owns what
/// it wrote (undo). Answers `None` when the source failed: nothing was written.
pub(super) async fn write_charges(
    db: &Db,
    team_id: i64,
    history: Option<History<'_>>,
    source: &mut impl ChargeSource,
    on_chunk: &mut (dyn FnMut(ImportProgress) + Send),
) -> Result<Option<Written>, ImportError> {
    let mut written = Written::default();
    let outcome = &mut written.outcome;
    let staging = staging_tables(db);
    let analyze_staging = matches!(db.pool(), Pool::Postgres(_));
    let (record_corrections, apply_corrections) = (with_join(RECORD_CORRECTIONS), with_join(APPLY_CORRECTIONS));
    let started = std::time::Instant::now();
    let mut phases = Vec::with_capacity(7);
    // What the usage index is handed after the commit (new days only).
    let mut handover: Option<crate::report::index::ImportedDays> = None;
    on_db!(db, |pool| {
        let (_turn, mut connection) = db.bulk_write_connection(pool).await?;
        let mut tx = db.begin_bulk_write(&mut connection).await?;
        // One writer per team at a time (a row lock on PostgreSQL; SQLite has
        // one writer anyway): a correction must see the previous import's result.
        sqlx::query(crate::domain::teams::LOCK_TEAM).bind(team_id).execute(&mut *tx).await?;
        for table in staging {
            sqlx::query(table).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM import_keys").execute(&mut *tx).await?;
        let import_id: Option<i64> = match &history {
            None => None,
            Some(History { draft, .. }) => Some(insert_import!(&mut *tx, team_id, draft, ImportStatus::Done, "{}")?),
        };
        outcome.import_id = import_id;
        // SQLite writes keys of days that held none of the team's charges
        // straight into the charges, its secondary indexes dropped while the
        // import's keys outnumber the charges stored before it.
        let mut new_days = NewDays::new(team_id, import_id);
        let mut deferred = match OnSqlite::on_sqlite(&mut *tx) {
            Some(connection) => DeferredIndexes::before_import(connection).await?,
            None => DeferredIndexes::default(),
        };

        let existing: Vec<(String, i64)> = sqlx::query_as("SELECT email, id FROM team_users WHERE team_id = $1")
            .bind(team_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut user_ids: HashMap<String, i64> = existing.into_iter().collect();
        // Erased people, by the keyed hash of their e-mail.
        let erased_key = history.as_ref().and_then(|h| h.erased_key);
        let erased: HashMap<String, i64> = match erased_key {
            None => HashMap::new(),
            Some(_) => sqlx::query_as("SELECT email_hash, user_id FROM erased_users WHERE team_id = $1")
                .bind(team_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect(),
        };
        let mut catalogue = Catalogue::default();
        catalogue_read!(catalogue, &mut *tx);
        // Whose charges this import may change, for the usage index's patch.
        let mut touched = crate::report::rollups::TouchedUsers::default();
        let catalogue_lock = crate::domain::products::lock_catalogue(db);
        let mut catalogue_locked = false;

        let (mut waited_for_rows, mut staging, mut writing_new_days) =
            (std::time::Duration::ZERO, std::time::Duration::ZERO, std::time::Duration::ZERO);
        // The rollups of every key written: those of its days when no day
        // held charges, but for the days the tally names as unsure (and on
        // PostgreSQL, but for a first import, only if no key came twice:
        // counted at the end).
        let (mut keys_written, mut tally) = (0u64, RollupTally::default());
        // Every key written while they are few: if their days held none
        // before, they are those days' charges, and the usage index's patch
        // takes them instead of reading them back.
        let mut handed: Option<Vec<(i64, i64, NaiveDate, i64)>> = Some(Vec::new());
        let first_table = FirstCharges::first_charges_table(&mut *tx, team_id).await?;
        let mut staging_state =
            Staging { first_table: first_table.map(|t| (t, team_id, import_id)), ..Staging::default() };
        let (mut rows_read, mut waiting) = (0u64, Vec::<ChargeRow>::new());
        loop {
            let asked = std::time::Instant::now();
            let mut rows = source.next_chunk().await;
            waited_for_rows += asked.elapsed();
            let at_end = rows.is_empty();
            if source.failed() {
                // Keep reading for the error list; nothing more is written.
                if at_end {
                    break;
                }
                continue;
            }
            if !at_end {
                rows_read += rows.len() as u64;
                on_chunk(ImportProgress { rows: rows_read, bytes: source.bytes_read() });
            }
            // The rows of a chunk's last day wait for the next chunk, so that
            // a file in day order hands each day over whole: no day is
            // staged again (PostgreSQL's upsert) or summed into charges a
            // chunk before wrote.
            if !waiting.is_empty() {
                waiting.append(&mut rows);
                rows = std::mem::take(&mut waiting);
            }
            if rows.is_empty() {
                break;
            }
            if !at_end {
                let last_day = rows[rows.len() - 1].usage_date;
                if let Some(before) = rows.iter().rposition(|r| r.usage_date != last_day) {
                    waiting = rows.split_off(before + 1);
                }
            }
            outcome.rows += rows.len() as u64;
            for row in &rows {
                written.first_day = Some(written.first_day.map_or(row.usage_date, |d| d.min(row.usage_date)));
                written.last_day = Some(written.last_day.map_or(row.usage_date, |d| d.max(row.usage_date)));
            }

            // Users: an erased person's rows go to the erased user; add the new ones.
            if let Some(key) = erased_key.filter(|_| !erased.is_empty()) {
                for row in &rows {
                    if !user_ids.contains_key(&row.email)
                        && let Some(&id) = erased.get(&key.email_hash(team_id, &row.email))
                    {
                        user_ids.insert(row.email.clone(), id);
                    }
                }
            }
            let mut seen = HashSet::new();
            let new_users: Vec<&ChargeRow> =
                rows.iter().filter(|r| !user_ids.contains_key(&r.email) && seen.insert(r.email.as_str())).collect();
            for chunk in new_users.chunks(INSERT_BATCH) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO team_users (team_id, email, first_name, last_name) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(team_id).push_bind(&r.email).push_bind(&r.first_name).push_bind(&r.last_name);
                });
                q.push(" RETURNING email, id");
                let inserted: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
                user_ids.extend(inserted);
            }
            outcome.new_users += new_users.len() as u64;
            let room = MAX_LISTED_NEW_USERS.saturating_sub(outcome.new_user_emails.len());
            outcome.new_user_emails.extend(new_users.iter().take(room).map(|r| r.email.clone()));

            // Products and versions: matched by the one name rule (`name_key`);
            // what the shared catalogue lacks is added under its lock, after
            // reading it again (another team may just have added it).
            let mut seen_spellings = HashSet::new();
            let spellings: Vec<&str> =
                rows.iter().map(|r| r.product.as_str()).filter(|s| seen_spellings.insert(*s)).collect();
            let mut chunk_products = catalogue.products_of(&spellings);
            let needs_catalogue = chunk_products.len() < spellings.len()
                || rows
                    .iter()
                    .any(|r| !catalogue.has_version(chunk_products.get(r.product.as_str()), &r.product_version));
            if needs_catalogue && !catalogue_locked {
                if let Some(lock) = catalogue_lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                    catalogue_read!(catalogue, &mut *tx);
                    chunk_products = catalogue.products_of(&spellings);
                }
                catalogue_locked = true;
            }
            for &spelling in &spellings {
                if chunk_products.contains_key(spelling) {
                    continue;
                }
                // Another spelling of a product this chunk just added.
                if let Some(&id) = catalogue.products.get(&name_key(spelling)) {
                    chunk_products.insert(spelling, id);
                    continue;
                }
                let slug = crate::domain::products::unique_slug(spelling, |s| catalogue.slugs.contains(s));
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO products (slug, name, kind) VALUES ($1, $2, 'desktop') RETURNING id",
                )
                .bind(&slug)
                .bind(spelling)
                .fetch_one(&mut *tx)
                .await?;
                catalogue.slugs.insert(slug);
                catalogue.products.insert(name_key(spelling), id);
                chunk_products.insert(spelling, id);
                outcome.new_products.push(spelling.to_owned());
            }
            let mut versions: Vec<(i64, &str)> = rows
                .iter()
                .filter(|r| !catalogue.has_version(chunk_products.get(r.product.as_str()), &r.product_version))
                .map(|r| (chunk_products[r.product.as_str()], r.product_version.as_str()))
                .collect();
            versions.sort_unstable();
            versions.dedup();
            for chunk in versions.chunks(INSERT_BATCH) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO product_versions (product_id, version) ");
                q.push_values(chunk, |mut b, (product_id, version)| {
                    b.push_bind(*product_id).push_bind(*version);
                });
                q.push(" ON CONFLICT (product_id, version) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            for (product_id, version) in versions {
                catalogue.versions.entry(product_id).or_default().insert(version.to_owned());
            }

            // Stage, summing the file's rows per key: within the chunk here
            // (one statement may not touch a key twice), across chunks by the
            // staging upsert, SQLite's add to a new day's charge, or the fold
            // of a PostgreSQL first import's merge.
            let mut staged: HashMap<(NaiveDate, i64, i64, &str), (&str, i64)> = HashMap::with_capacity(rows.len());
            for r in &rows {
                let key = (r.usage_date, chunk_products[r.product.as_str()], user_ids[&r.email], r.feature.as_str());
                touched.note(key.2);
                let entry = staged.entry(key).or_insert((r.product_version.as_str(), 0));
                *entry = (r.product_version.as_str(), entry.1 + r.tokens);
            }
            // In key order (day, product, user, feature): the charges' and the
            // staging b-trees are appended to, and the tally meets each day's
            // product's people in ascending id.
            let mut keys: Vec<_> = staged.into_iter().collect();
            keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let writing_started = std::time::Instant::now();
            let (new_day_keys, staged) = match OnSqlite::on_sqlite(&mut *tx) {
                Some(connection) => {
                    let (new_day_keys, staged) = new_days.split(connection, keys).await?;
                    if !new_day_keys.is_empty() {
                        let keys = new_days.inserted + new_day_keys.len() as u64;
                        deferred.drop_when_outnumbered(connection, keys).await?;
                        for day in new_days.write(connection, &new_day_keys).await? {
                            tally.mark_unsure(day);
                        }
                    }
                    (new_day_keys, staged)
                }
                None => (Vec::new(), keys),
            };
            let stage_started = std::time::Instant::now();
            writing_new_days += stage_started - writing_started;
            StageKeys::stage_keys(&mut *tx, &staged, &mut staging_state).await?;
            staging += stage_started.elapsed();
            keys_written += (new_day_keys.len() + staged.len()) as u64;
            tally.add(&new_day_keys);
            tally.add(&staged);
            match handed.as_mut() {
                Some(list)
                    if list.len() + new_day_keys.len() + staged.len() <= crate::report::index::MAX_HANDED_CHARGES =>
                {
                    list.extend(
                        [&new_day_keys, &staged]
                            .into_iter()
                            .flatten()
                            .map(|&((day, product, user, _), (_, tokens))| (user, product, day, tokens)),
                    );
                }
                _ => handed = None,
            }
            if at_end {
                break;
            }
        }
        if source.failed() {
            return Ok(None);
        }
        phases.push(("read and staged", started.elapsed()));
        phases.push(("of which waiting for rows", waited_for_rows));
        phases.push(("of which writing new days", writing_new_days));
        phases.push(("of which staging", staging));

        // Merge: the new keys, then — when some keys were stored before — the
        // corrections, their previous values recorded first. (A key just
        // inserted holds the staged tokens, so it is never a correction.)
        let staged_keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_keys").fetch_one(&mut *tx).await?;
        // Keys written outside the staging table: SQLite's new days, and a
        // PostgreSQL team's first copied straight into its new table.
        let unstaged = new_days.inserted + staging_state.copied;
        let (staged_keys, mut keys) = (staged_keys as u64, staged_keys as u64 + unstaged);
        if analyze_staging {
            // A fresh temporary table has no statistics: the joins below would be planned blind.
            sqlx::query("ANALYZE import_keys").execute(&mut *tx).await?;
        }
        // Days that held none of the team's charges get their rollups from
        // the tallies or the staged keys. (SQLite's new days hold the
        // import's charges already: it asked about each before writing it.
        // A PostgreSQL first import's table is not attached yet: the parent
        // shows none of its charges.)
        let had_charges = match (written.first_day, written.last_day, OnSqlite::on_sqlite(&mut *tx)) {
            (Some(first), Some(last), Some(connection)) => {
                new_days.held_charges_between(connection, first, last).await?
            }
            (Some(first), Some(last), None) => {
                sqlx::query_scalar(crate::report::rollups::HAD_CHARGES_BETWEEN)
                    .bind(team_id)
                    .bind(first)
                    .bind(last)
                    .fetch_one(&mut *tx)
                    .await?
            }
            _ => true,
        };
        if let Some(connection) = OnSqlite::on_sqlite(&mut *tx) {
            deferred.drop_when_outnumbered(connection, keys).await?;
        }
        let first = match &staging_state.first_table {
            Some((table, ..)) if staging_state.copied > 0 => {
                Some(FirstCharges::finish_first_charges(&mut *tx, table, team_id, import_id, staged_keys).await?)
            }
            _ => None,
        };
        // Staged keys whose charge was copied before: no key of their own.
        let folded: u64 = first.iter().flat_map(|f| &f.folded).map(|&(_, n)| n as u64).sum();
        keys -= folded;
        let merged = match first {
            Some(first) => {
                first.folded.iter().for_each(|&(day, _)| tally.mark_unsure(day));
                first.inserted
            }
            None if staged_keys == 0 => 0,
            None => sqlx::query(if had_charges { INSERT_NEW } else { INSERT_INTO_EMPTY_DAYS })
                .bind(import_id)
                .bind(team_id)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
        };
        outcome.inserted = unstaged + merged - folded;
        if merged < staged_keys {
            if import_id.is_some() {
                sqlx::query(&record_corrections).bind(import_id).bind(team_id).execute(&mut *tx).await?;
            }
            outcome.updated =
                sqlx::query(&apply_corrections).bind(import_id).bind(team_id).execute(&mut *tx).await?.rows_affected();
        }
        outcome.unchanged = keys - outcome.inserted - outcome.updated;
        phases.push(("merged", started.elapsed()));
        if let Some(connection) = OnSqlite::on_sqlite(&mut *tx) {
            deferred.rebuild(connection).await?;
        }
        phases.push(("indexes rebuilt", started.elapsed()));

        if let (true, Some(first), Some(last)) =
            (outcome.inserted + outcome.updated > 0, written.first_day, written.last_day)
        {
            use crate::report::rollups::{
                PRODUCT_ROLLUPS_OF_STAGED_DAYS, REFRESH_STAGED_PRODUCTS, REFRESH_STATEMENTS,
                VERSION_ROLLUP_OF_STAGED_DAYS,
            };
            // Days that held none, and every key that came twice known by
            // its day (SQLite's new days and PostgreSQL's first import say
            // so; other PostgreSQL staging does not): the tallies are those
            // days' rollups, but for the days they are unsure of, which are
            // aggregated from the keys.
            let tallied = !had_charges && keys + new_days.added + folded == keys_written;
            written.rollups_tallied = tallied;
            // The statements before the tallies are written and after (the
            // team's days from the product rollup).
            let (before, after): (Vec<&str>, &[&str]) = match (tallied, unstaged > 0, had_charges) {
                (true, ..) => (
                    vec![PRODUCT_ROLLUPS_OF_STAGED_DAYS[0], VERSION_ROLLUP_OF_STAGED_DAYS[0]],
                    &PRODUCT_ROLLUPS_OF_STAGED_DAYS[2..],
                ),
                // Some charges are in no staged key: from the charges.
                (false, true, _) => (REFRESH_STATEMENTS.to_vec(), &[]),
                (false, false, true) => (REFRESH_STAGED_PRODUCTS.to_vec(), &[]),
                (false, false, false) => {
                    ([&PRODUCT_ROLLUPS_OF_STAGED_DAYS[..], &VERSION_ROLLUP_OF_STAGED_DAYS[..]].concat(), &[])
                }
            };
            for sql in before {
                sqlx::query(sql).bind(team_id).bind(first).bind(last).execute(&mut *tx).await?;
            }
            if tallied {
                for chunk in tally.product_rows().chunks(INSERT_BATCH) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO daily_product_usage (team_id, usage_date, product_id, tokens, charges, user_days) ",
                    );
                    q.push_values(chunk, |mut b, (day, product_id, tokens, charges, user_days)| {
                        b.push_bind(team_id).push_bind(*day).push_bind(*product_id);
                        b.push_bind(*tokens).push_bind(*charges).push_bind(*user_days);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in tally.version_rows().chunks(INSERT_BATCH) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO daily_version_usage (team_id, usage_date, product_id, product_version, tokens, charges) ",
                    );
                    q.push_values(chunk, |mut b, (day, product_id, version, tokens, charges)| {
                        b.push_bind(team_id).push_bind(*day).push_bind(*product_id);
                        b.push_bind(*version).push_bind(*tokens).push_bind(*charges);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                // An unsure day's keys: in the charges when some were
                // written outside the staging table (SQLite's new days, a
                // PostgreSQL team's first import, whose table is attached
                // by now), else all in the staging table.
                let aggregate: [&str; 2] = if unstaged > 0 {
                    [REFRESH_STATEMENTS[3], REFRESH_STATEMENTS[5]]
                } else {
                    [PRODUCT_ROLLUPS_OF_STAGED_DAYS[1], VERSION_ROLLUP_OF_STAGED_DAYS[1]]
                };
                for day in tally.unsure_days() {
                    for sql in aggregate {
                        sqlx::query(sql).bind(team_id).bind(day).bind(day).execute(&mut *tx).await?;
                    }
                }
            }
            for sql in after {
                sqlx::query(sql).bind(team_id).bind(first).bind(last).execute(&mut *tx).await?;
            }
            let version =
                crate::report::rollups::mark_changed!(&mut *tx, team_id, Some(first), Some(last), touched.listed());
            // Every key new, in days that held none, with no new user or product:
            // the staged charges are the new version's charges of those days.
            let only_new = !had_charges && outcome.inserted == keys;
            if let Some(charges) =
                handed.filter(|_| only_new && outcome.new_users == 0 && outcome.new_products.is_empty())
            {
                handover = Some(crate::report::index::ImportedDays { version, first, last, charges });
            }
        }
        phases.push(("rollups", started.elapsed()));
        sqlx::query("DELETE FROM import_keys").execute(&mut *tx).await?;
        if let Some(import_id) = import_id {
            let details = serde_json::json!({
                "new_products": outcome.new_products,
                "new_users": outcome.new_users,
            })
            .to_string();
            sqlx::query(
                "UPDATE imports SET row_count = $2, inserted = $3, updated = $4, unchanged = $5,
                 first_day = $6, last_day = $7, details = $8 WHERE id = $1",
            )
            .bind(import_id)
            .bind(outcome.rows as i64)
            .bind(outcome.inserted as i64)
            .bind(outcome.updated as i64)
            .bind(outcome.unchanged as i64)
            .bind(written.first_day)
            .bind(written.last_day)
            .bind(details)
            .execute(&mut *tx)
            .await?;
            for sql in TAKE_OWNERSHIP {
                sqlx::query(sql).bind(import_id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        if let Some(days) = handover.take() {
            crate::report::index::hand_over(db, team_id, days);
        }
        // The charges are stored: a failed close is for the log, not the admin.
        if let Err(error) = connection.close().await {
            tracing::warn!(team_id, %error, "could not close the import's connection");
        }
    });
    phases.push(("committed and closed", started.elapsed()));
    // Where a slow import spends its time (seconds since it began, per step).
    tracing::debug!(
        team_id,
        rows = written.outcome.rows,
        rollups_tallied = written.rollups_tallied,
        ?phases,
        "charges written"
    );
    Ok(Some(written))
}

/// Writes charges already in memory, without import history (the demo
/// generator, and tests that need charges but no file).
pub async fn store_charges(db: &Db, team_id: i64, rows: &[ChargeRow]) -> Result<ImportOutcome, ImportError> {
    let written = write_charges(db, team_id, None, &mut InMemory(Some(rows)), &mut |_| {}).await?;
    Ok(written.map(|w| w.outcome).unwrap_or_default())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::domain::teams::{NewTeam, create_team};

    /// Charges handed over a chunk at a time, as a file's reader does.
    struct Chunks(std::vec::IntoIter<Vec<ChargeRow>>);

    impl ChargeSource for Chunks {
        async fn next_chunk(&mut self) -> Vec<ChargeRow> {
            self.0.next().unwrap_or_default()
        }

        fn failed(&self) -> bool {
            false
        }
    }

    fn charge(person: u32, day: u32, tokens: i64) -> ChargeRow {
        ChargeRow {
            email: format!("p{person:03}@x.com"),
            first_name: String::new(),
            last_name: String::new(),
            product: "Revit".into(),
            product_version: String::new(),
            feature: String::new(),
            usage_date: NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            tokens,
        }
    }

    async fn write(db: &Db, team_id: i64, chunks: Vec<Vec<ChargeRow>>) -> Written {
        let mut source = Chunks(chunks.into_iter());
        write_charges(db, team_id, None, &mut source, &mut |_| {}).await.unwrap().unwrap()
    }

    /// New days in day and person order get their rollups from the tallies
    /// (reading the charges or staged keys back cost a year's import seconds);
    /// a key in two chunks makes only its day unsure where the import finds
    /// out which day that is (SQLite's new days, PostgreSQL's first import),
    /// and leaves all rollups to SQL where it cannot (PostgreSQL's staging
    /// of a team with charges); a day that held charges leaves them to SQL on
    /// both. (The rollups themselves are checked against a rebuild by the
    /// integration tests.)
    async fn rollups_of_new_days_come_from_the_tallies(db: &Db) {
        let team = |slug: &str| NewTeam { slug: slug.into(), name: slug.into(), time_zone: "UTC".into() };
        let in_order = create_team(db, &team("in-order")).await.unwrap();
        let chunks = vec![(0..50).map(|p| charge(p, 1, 1)).collect(), (0..50).map(|p| charge(p, 2, 1)).collect()];
        let written = write(db, in_order.id, chunks).await;
        assert_eq!(written.outcome.inserted, 100);
        assert!(written.rollups_tallied, "new days in order");

        let twice = || vec![vec![charge(1, 10, 1), charge(2, 10, 1)], vec![charge(2, 10, 5), charge(3, 11, 1)]];
        let first = create_team(db, &team("first")).await.unwrap();
        let written = write(db, first.id, twice()).await;
        assert_eq!(written.outcome.inserted, 3);
        assert!(written.rollups_tallied, "a key in two chunks of a team's first import");
        let written = write(db, in_order.id, twice()).await;
        assert_eq!(written.outcome.inserted, 3);
        let sqlite = matches!(db.pool(), Pool::Sqlite(_));
        assert_eq!(written.rollups_tallied, sqlite, "a key in two chunks of a team with charges");

        let corrected = write(db, in_order.id, vec![vec![charge(1, 1, 9), charge(1, 3, 1)]]).await;
        assert_eq!((corrected.outcome.inserted, corrected.outcome.updated), (1, 1));
        assert!(!corrected.rollups_tallied, "a day that held charges");
    }

    /// A PostgreSQL team's table of charges is made by the first import
    /// that has charges: an import of no row (a file of its header only)
    /// would otherwise attach an empty table, and the team's real first
    /// import would insert a year through four indexes.
    async fn an_import_of_no_row_makes_no_table_of_charges(db: &Db) {
        let team = create_team(db, &NewTeam { slug: "empty".into(), name: "Empty".into(), time_zone: "UTC".into() })
            .await
            .unwrap();
        let made = async || -> bool {
            match db.pool() {
                Pool::Postgres(pool) => sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                    .bind(team_charges_table(team.id))
                    .fetch_one(pool)
                    .await
                    .unwrap(),
                Pool::Sqlite(_) => false,
            }
        };
        assert_eq!(write(db, team.id, vec![]).await.outcome.rows, 0);
        assert!(!made().await, "after an import of no row");
        let written = write(db, team.id, vec![vec![charge(1, 1, 1)], vec![charge(2, 1, 1)]]).await;
        assert_eq!(written.outcome.inserted, 2);
        assert_eq!(made().await, matches!(db.pool(), Pool::Postgres(_)), "after its first charges");
    }

    crate::db_tests!(rollups_of_new_days_come_from_the_tallies, an_import_of_no_row_makes_no_table_of_charges);
}
