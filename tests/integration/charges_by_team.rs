//! PostgreSQL keeps each team's charges in a table of their own, a
//! partition of `usage_charges` (migration 0025) created by the team's
//! first import, which fills it before it has an index (`write.rs`,
//! `FirstCharges`). SQLite has one table; these tests are PostgreSQL's.

use std::time::Duration;

use tokenboard::Db;
use tokenboard::db::Pool;
use tokenboard::db::testing::TestDb;
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::ingest::import::{ImportOutcome, ImportRequest, ImportSource, import_usage_bytes, undo_import};

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() })
        .await
        .unwrap()
}

async fn import(db: &Db, team: &Team, file: &str) -> ImportOutcome {
    let request = ImportRequest {
        source: ImportSource::Upload,
        actor: "ann@admins.example".into(),
        file_name: "usage.csv".into(),
        date_format: None,
        erased_key: None,
    };
    import_usage_bytes(db, team, file.as_bytes(), &request).await.unwrap()
}

fn postgres(db: &Db) -> &sqlx::PgPool {
    match db.pool() {
        Pool::Postgres(pool) => pool,
        Pool::Sqlite(_) => unreachable!("a PostgreSQL test"),
    }
}

/// (table, charges, their tokens) of the team's charges, by the table that holds them.
async fn where_charges_are(db: &Db, team: &Team) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT tableoid::regclass::text, COUNT(*), SUM(tokens)::BIGINT FROM usage_charges
         WHERE team_id = $1 GROUP BY 1 ORDER BY 1",
    )
    .bind(team.id)
    .fetch_all(postgres(db))
    .await
    .unwrap()
}

const HEADER: &str = "email,product,feature,usage date,tokens used\n";

/// A team's first import creates its table, indexed as the parent is, and
/// adds up a key the file repeats; later imports (a correction, a new day)
/// and an undo work on that table; another team gets a table of its own.
#[tokio::test]
async fn each_team_s_charges_live_in_a_table_of_its_own() {
    let Some(test_db) = TestDb::postgres().await else { return };
    let db = &test_db.db;
    let (north, south) = (team(db, "north").await, team(db, "south").await);
    let first = import(
        db,
        &north,
        &format!(
            "{HEADER}a@x.com,Revit,Desktop,2026-10-01,5\nb@x.com,Revit,Desktop,2026-10-01,6\n\
             a@x.com,Revit,Desktop,2026-10-01,4\na@x.com,Maya,Cloud,2026-10-02,7\n"
        ),
    )
    .await;
    assert_eq!((first.rows, first.inserted), (4, 3));
    let north_table = format!("usage_charges_of_team_{}", north.id);
    assert_eq!(where_charges_are(db, &north).await, [(north_table.clone(), 3, 22)]);
    // The parent's four indexes, built by the import and adopted by the
    // attachment (which would build its own beside any it could not adopt).
    let indexes: Vec<(String,)> =
        sqlx::query_as("SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname")
            .bind(&north_table)
            .fetch_all(postgres(db))
            .await
            .unwrap();
    let mut columns: Vec<&str> =
        indexes.iter().map(|(def,)| def.rsplit_once(" (").map_or("", |(_, columns)| columns)).collect();
    columns.sort_unstable();
    assert_eq!(
        columns,
        [
            "team_id, id)",
            "team_id, product_id, usage_date)",
            "team_id, usage_date, user_id, product_id, feature)",
            "team_id, user_id, usage_date)",
        ],
        "{indexes:?}"
    );

    let correction = import(
        db,
        &north,
        &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,1\nc@x.com,Revit,Desktop,2026-10-03,2\n"),
    )
    .await;
    assert_eq!((correction.inserted, correction.updated), (1, 1));
    assert_eq!(where_charges_are(db, &north).await, [(north_table.clone(), 4, 16)]);
    let actor = tokenboard::access::audit::Actor::CommandLine;
    undo_import(db, north.id, correction.import_id.unwrap(), &actor).await.unwrap();
    assert_eq!(where_charges_are(db, &north).await, [(north_table.clone(), 3, 22)]);
    undo_import(db, north.id, first.import_id.unwrap(), &actor).await.unwrap();
    assert_eq!(where_charges_are(db, &north).await, []);
    // The team's table stays, empty: the next import fills it as any later import does.
    let again = import(db, &north, &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,5\n")).await;
    assert_eq!(again.inserted, 1);
    assert_eq!(where_charges_are(db, &north).await, [(north_table, 1, 5)]);

    import(db, &south, &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,8\n")).await;
    assert_eq!(where_charges_are(db, &south).await, [(format!("usage_charges_of_team_{}", south.id), 1, 8)]);
    assert_eq!(where_charges_are(db, &north).await.len(), 1, "north's charges stay in north's table");
}

/// A first import blocks no other team. While it fills and indexes its
/// table (the long part), another team's first import goes through; once it
/// has attached the table (its transaction still open: the rollups and the
/// commit follow), other teams read and import as usual: the attachment's
/// lock on the parent stops only another attachment.
#[tokio::test]
async fn a_first_import_blocks_no_other_team() {
    let Some(test_db) = TestDb::postgres().await else { return };
    let db = &test_db.db;
    let (north, south, west) = (team(db, "north").await, team(db, "south").await, team(db, "west").await);
    import(db, &north, &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,5\n")).await;
    let within = |seconds| Duration::from_secs(seconds);

    // South's first import, held open: the statements `FirstCharges` runs.
    let mut south_import = postgres(db).begin().await.unwrap();
    let table = format!("usage_charges_of_team_{}", south.id);
    sqlx::query(&format!("CREATE TABLE {table} (LIKE usage_charges INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        .execute(&mut *south_import)
        .await
        .unwrap();
    let west_file = format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,2\n");
    let west_first =
        tokio::time::timeout(within(20), import(db, &west, &west_file)).await.expect("west waited for south's table");
    assert_eq!(west_first.inserted, 1);
    assert_eq!(where_charges_are(db, &west).await, [(format!("usage_charges_of_team_{}", west.id), 1, 2)]);

    sqlx::query(&format!("ALTER TABLE usage_charges ATTACH PARTITION {table} FOR VALUES IN ({})", south.id))
        .execute(&mut *south_import)
        .await
        .unwrap();
    let others = async {
        let read = where_charges_are(db, &north).await;
        let written = import(db, &north, &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-02,3\n")).await;
        (read, written.inserted, where_charges_are(db, &north).await)
    };
    let (read, inserted, after) =
        tokio::time::timeout(within(20), others).await.expect("north waited for south's attachment");
    let north_table = format!("usage_charges_of_team_{}", north.id);
    assert_eq!(read, [(north_table.clone(), 1, 5)]);
    assert_eq!((inserted, after), (1, vec![(north_table, 2, 8)]));
    south_import.rollback().await.unwrap();

    // South's own first import, after the rollback, creates its table again.
    import(db, &south, &format!("{HEADER}a@x.com,Revit,Desktop,2026-10-01,8\n")).await;
    assert_eq!(where_charges_are(db, &south).await, [(table, 1, 8)]);
}

/// Migration 0025 moves the charges of a database written before it into
/// the teams' tables: every charge keeps its id, so the corrections that
/// name charges (undo) still find them, and new charges are numbered after
/// every id given before.
#[tokio::test]
async fn charges_stored_before_partitioning_move_into_their_team_s_table() {
    let Some(test_db) = TestDb::postgres().await else { return };
    let pool = postgres(&test_db.db);
    // The database as migration 0024 left it.
    sqlx::query("DROP SCHEMA public CASCADE").execute(pool).await.unwrap();
    sqlx::query("CREATE SCHEMA public").execute(pool).await.unwrap();
    let all = sqlx::migrate!("./migrations/postgres");
    let mut before = sqlx::migrate!("./migrations/postgres");
    before.migrations = all.migrations.iter().filter(|m| m.version < 25).cloned().collect::<Vec<_>>().into();
    before.run(pool).await.unwrap();
    for sql in [
        "INSERT INTO teams (slug, name, time_zone, created_at) VALUES ('north', 'North', 'UTC', now()),
         ('south', 'South', 'UTC', now())",
        "INSERT INTO products (slug, name) VALUES ('revit', 'Revit')",
        "INSERT INTO team_users (team_id, email) VALUES (1, 'a@x.com'), (2, 'b@x.com')",
        "INSERT INTO usage_charges (team_id, user_id, product_id, feature, usage_date, tokens)
         SELECT 1 + day % 2, 1 + day % 2, 1, 'Desktop', DATE '2026-10-01' + day, day FROM generate_series(0, 9) day",
        // As an undo leaves them: the newest ids given, then deleted.
        "DELETE FROM usage_charges WHERE id > 8",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    let charges = "SELECT team_id, id, user_id, usage_date, tokens FROM usage_charges ORDER BY id";
    let stored: Vec<(i64, i64, i64, chrono::NaiveDate, i64)> = sqlx::query_as(charges).fetch_all(pool).await.unwrap();

    test_db.db.migrate().await.unwrap();
    let moved: Vec<(i64, i64, i64, chrono::NaiveDate, i64)> = sqlx::query_as(charges).fetch_all(pool).await.unwrap();
    assert_eq!(moved, stored);
    let tables: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, COUNT(*) FROM usage_charges GROUP BY 1 ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(tables, [("usage_charges_of_team_1".to_owned(), 4), ("usage_charges_of_team_2".to_owned(), 4)]);
    let teams = tokenboard::domain::teams::all_teams(&test_db.db).await.unwrap();
    let north = teams.iter().find(|t| t.slug == "north").unwrap();
    let outcome = import(&test_db.db, north, &format!("{HEADER}a@x.com,Revit,Desktop,2026-11-01,3\n")).await;
    assert_eq!(outcome.inserted, 1);
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM usage_charges").fetch_one(pool).await.unwrap();
    assert_eq!(newest, 11, "new charges are numbered after every id given before, deleted ones too");
}
