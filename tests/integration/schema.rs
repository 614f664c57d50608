//! Schema parity: after the migrations, SQLite and PostgreSQL have the same
//! tables, the same columns (by name and nullability) and the same explicitly
//! created indexes (by name), so a query written once behaves alike on both.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use tokenboard::db::Pool;
use tokenboard::db::testing::TestDb;

/// One backend's schema as far as parity goes. Bookkeeping is left out:
/// sqlx's `_sqlx_migrations`, SQLite's internal tables and autoindexes, and
/// PostgreSQL's indexes behind primary-key and unique constraints (SQLite's
/// counterparts of those are the autoindexes).
#[derive(Debug, Default)]
struct Schema {
    tables: BTreeSet<String>,
    /// (table, column) → nullable. A primary-key column counts as NOT NULL:
    /// SQLite reports `INTEGER PRIMARY KEY` as nullable though it cannot be.
    columns: BTreeMap<(String, String), bool>,
    /// Index name → its table.
    indexes: BTreeMap<String, String>,
}

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master
     WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'";
const SQLITE_COLUMNS: &str = r#"SELECT m.name, p.name, p."notnull" = 0 AND p.pk = 0
     FROM sqlite_master m JOIN pragma_table_info(m.name) p
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"#;
const SQLITE_INDEXES: &str = "SELECT name, tbl_name FROM sqlite_master
     WHERE type = 'index' AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND tbl_name <> '_sqlx_migrations'";

const POSTGRES_TABLES: &str = "SELECT table_name::text FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'";
const POSTGRES_COLUMNS: &str = "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES'
     FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> '_sqlx_migrations'";
const POSTGRES_INDEXES: &str = "SELECT i.indexname::text, i.tablename::text FROM pg_indexes i
     WHERE i.schemaname = current_schema() AND i.tablename <> '_sqlx_migrations'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                       WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass
                         AND c.contype IN ('p', 'u', 'x'))";

async fn read_schema(pool: &Pool) -> Schema {
    // The same three reads on either pool; only the catalogue SQL differs.
    macro_rules! read {
        ($pool:expr, $tables:expr, $columns:expr, $indexes:expr) => {{
            let tables: Vec<(String,)> = sqlx::query_as($tables).fetch_all($pool).await.unwrap();
            let columns: Vec<(String, String, bool)> = sqlx::query_as($columns).fetch_all($pool).await.unwrap();
            let indexes: Vec<(String, String)> = sqlx::query_as($indexes).fetch_all($pool).await.unwrap();
            Schema {
                tables: tables.into_iter().map(|(t,)| t).collect(),
                columns: columns.into_iter().map(|(t, c, nullable)| ((t, c), nullable)).collect(),
                indexes: indexes.into_iter().collect(),
            }
        }};
    }
    match pool {
        Pool::Sqlite(pool) => read!(pool, SQLITE_TABLES, SQLITE_COLUMNS, SQLITE_INDEXES),
        Pool::Postgres(pool) => read!(pool, POSTGRES_TABLES, POSTGRES_COLUMNS, POSTGRES_INDEXES),
    }
}

fn nullability(nullable: bool) -> &'static str {
    if nullable { "NULL" } else { "NOT NULL" }
}

/// Every difference between the two schemas, one sentence each.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for (only, here, there) in [("SQLite", sqlite, postgres), ("PostgreSQL", postgres, sqlite)] {
        for table in here.tables.difference(&there.tables) {
            out.push(format!("table {table} exists only in {only}"));
        }
        for (table, column) in here.columns.keys() {
            // A missing table was reported once above, not once per column.
            if there.tables.contains(table) && !there.columns.contains_key(&(table.clone(), column.clone())) {
                out.push(format!("column {table}.{column} exists only in {only}"));
            }
        }
        for (index, table) in &here.indexes {
            if !there.indexes.contains_key(index) {
                out.push(format!("index {index} (on {table}) exists only in {only}"));
            }
        }
    }
    for (key, nullable) in &sqlite.columns {
        if let Some(other) = postgres.columns.get(key).filter(|other| *other != nullable) {
            let (table, column) = key;
            out.push(format!(
                "column {table}.{column} is {} in SQLite but {} in PostgreSQL",
                nullability(*nullable),
                nullability(*other)
            ));
        }
    }
    for (index, table) in &sqlite.indexes {
        if let Some(other) = postgres.indexes.get(index).filter(|other| *other != table) {
            out.push(format!("index {index} is on {table} in SQLite but on {other} in PostgreSQL"));
        }
    }
    out
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_schema_after_migrations() {
    let sqlite_db = TestDb::sqlite().await;
    let Some(postgres_db) = TestDb::postgres().await else { return };
    let sqlite = read_schema(sqlite_db.db.pool()).await;
    let postgres = read_schema(postgres_db.db.pool()).await;
    // A catalogue query that silently matched nothing would make any two schemas equal.
    for (name, schema) in [("SQLite", &sqlite), ("PostgreSQL", &postgres)] {
        assert!(schema.tables.contains("usage_charges"), "{name}: no tables read: {schema:?}");
        assert!(schema.columns.contains_key(&("usage_charges".into(), "tokens".into())), "{name}: no columns read");
        assert!(schema.indexes.contains_key("usage_charges_by_user"), "{name}: no indexes read: {:?}", schema.indexes);
        assert!(!schema.indexes.keys().any(|i| i.starts_with("sqlite_") || i.ends_with("_pkey")), "{name}: {schema:?}");
    }
    let differences = differences(&sqlite, &postgres);
    let mut message = String::new();
    for difference in &differences {
        let _ = writeln!(message, "  {difference}");
    }
    assert!(differences.is_empty(), "the schemas differ after migrations:\n{message}");
}

/// The comparison itself: each kind of difference is found and named.
#[test]
fn differences_name_each_table_column_and_index() {
    let schema = |tables: &[&str], columns: &[(&str, &str, bool)], indexes: &[(&str, &str)]| Schema {
        tables: tables.iter().map(|t| t.to_string()).collect(),
        columns: columns.iter().map(|(t, c, n)| ((t.to_string(), c.to_string()), *n)).collect(),
        indexes: indexes.iter().map(|(i, t)| (i.to_string(), t.to_string())).collect(),
    };
    let sqlite = schema(
        &["a", "b", "old"],
        &[("a", "id", false), ("a", "note", true), ("b", "x", false), ("old", "y", true)],
        &[("a_by_note", "a"), ("b_by_x", "b")],
    );
    let postgres = schema(
        &["a", "b", "new"],
        &[("a", "id", false), ("a", "note", false), ("b", "x", false), ("b", "z", true), ("new", "y", true)],
        &[("a_by_note", "b"), ("b_by_z", "b")],
    );
    assert_eq!(
        differences(&sqlite, &postgres),
        [
            "table old exists only in SQLite",
            "index b_by_x (on b) exists only in SQLite",
            "table new exists only in PostgreSQL",
            "column b.z exists only in PostgreSQL",
            "index b_by_z (on b) exists only in PostgreSQL",
            "column a.note is NULL in SQLite but NOT NULL in PostgreSQL",
            "index a_by_note is on a in SQLite but on b in PostgreSQL",
        ]
    );
    assert!(differences(&sqlite, &sqlite).is_empty());
}
