//! Writers at the same time (issue 14): imports of several teams, logins,
//! exports and packs while another writer holds the database — every one of
//! them succeeds, on SQLite and on PostgreSQL, and nothing is counted twice.

use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use tokenboard::access::audit::Actor;
use tokenboard::access::{accounts, login_limits, sessions};
use tokenboard::domain::packs::{PackInput, create_pack};
use tokenboard::domain::range::{RangePreset, RangeQuery};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::export::history::{self, NewExport};
use tokenboard::export::{ExportFormat, ExportParams, ExportReport, ExportStatus};
use tokenboard::ingest::import::{ImportRequest, import_usage_bytes};
use tokenboard::{Db, db_tests, on_db};

/// Longer than the 10 s SQLite used to wait for the write lock before
/// answering "database is locked".
const HELD_FOR: Duration = Duration::from_secs(12);

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: slug.into(), time_zone: "UTC".into() }).await.unwrap()
}

/// A file of `users` × 20 days, one charge each, with a product every file
/// names (new to the catalogue) and one of the team's own.
fn usage_file(team: &str, users: usize) -> (Vec<u8>, i64) {
    let mut csv = String::from("Email,Product,Version,Usage date,Tokens used\n");
    let mut total = 0;
    for user in 0..users {
        for day in 1..=20 {
            let product = if user % 2 == 0 { "Shared Newcomer".to_owned() } else { format!("Own {team}") };
            let tokens = (user % 7 + day) as i64;
            csv.push_str(&format!("u{user}@{team}.example,{product},2027.{},2026-11-{day:02},{tokens}\n", user % 3));
            total += tokens;
        }
    }
    (csv.into_bytes(), total)
}

async fn team_total(db: &Db, team_id: i64) -> i64 {
    let sql = "SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges WHERE team_id = $1";
    on_db!(db, |p| sqlx::query_scalar(sql).bind(team_id).fetch_one(p).await.unwrap())
}

/// Holds the database's write lock (SQLite) or a team's row (PostgreSQL)
/// for [`HELD_FOR`], as a long import does.
async fn hold_a_write(db: &Db, team_id: i64) {
    let begin = match db.pool() {
        tokenboard::db::Pool::Sqlite(_) => "BEGIN IMMEDIATE",
        tokenboard::db::Pool::Postgres(_) => "BEGIN",
    };
    on_db!(db, |p| {
        let mut tx = p.begin_with(begin).await.unwrap();
        sqlx::query("UPDATE teams SET data_version = data_version WHERE id = $1")
            .bind(team_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tokio::time::sleep(HELD_FOR).await;
        tx.commit().await.unwrap();
    })
}

async fn parallel_writers_all_succeed_while_another_holds_the_database(db: &Db) {
    let teams = [team(db, "north").await, team(db, "south").await, team(db, "east").await];
    let admin = accounts::upsert_admin(db, "ann@admins.example", "long enough password").await.unwrap();
    let files: Vec<(Vec<u8>, i64)> = teams.iter().map(|t| usage_file(&t.slug, 150)).collect();
    let range = RangeQuery::preset(RangePreset::Days30).resolve(teams[0].today()).unwrap();
    let params = ExportParams::default();

    // Every kind of writer at once, after the holder took the lock (on
    // PostgreSQL the row of a team that imports, exports and buys packs).
    let hold = hold_a_write(db, teams[0].id);
    let writers = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let imports = join_all(teams.iter().zip(&files).flat_map(|(t, (file, _))| {
            // Each file twice: the second finds every key stored (unchanged).
            (0..2).map(move |i| async move {
                let request = ImportRequest::command_line(&format!("{}-{i}.csv", t.slug));
                import_usage_bytes(db, t, file, &request).await
            })
        }));
        let logins = join_all((0..6).map(|i| async move {
            let address = format!("10.0.0.{i}");
            let reserved = login_limits::reserve(db, "ann@admins.example", &address, Utc::now()).await?;
            let reservation = reserved.expect("not limited");
            let token = sessions::create_session(db, admin.id, &Default::default()).await?;
            login_limits::succeeded(db, reservation).await?;
            Ok::<String, tokenboard::Error>(token)
        }));
        let exports = join_all(teams.iter().map(|t| {
            let (range, params) = (&range, &params);
            async move {
                let new = NewExport {
                    team: t,
                    actor: &Actor::CommandLine,
                    schedule_id: None,
                    report: ExportReport::Summary,
                    format: ExportFormat::Csv,
                    params,
                    range,
                };
                history::create(db, new, ExportStatus::Queued, Utc::now()).await
            }
        }));
        let packs = join_all(teams.iter().map(|t| async move {
            let input =
                PackInput { tokens: 1000, purchased_on: range.from, expires_on: None, order_ref: "PO-1".into() };
            create_pack(db, t, &input, &Actor::CommandLine).await
        }));
        tokio::join!(imports, logins, exports, packs)
    };
    let ((), (imports, logins, exports, packs)) = tokio::join!(hold, writers);

    for outcome in &imports {
        assert!(outcome.is_ok(), "an import failed beside other writers: {outcome:?}");
    }
    for outcome in logins.iter().map(|o| o.as_ref().map(|_| ())).chain(exports.iter().map(|o| o.as_ref().map(|_| ()))) {
        assert!(outcome.is_ok(), "a login or an export failed beside an import: {outcome:?}");
    }
    for outcome in &packs {
        assert!(outcome.is_ok(), "a pack failed beside an import: {outcome:?}");
    }
    // Each team's charges are its file's, once; the shared newcomer is one product.
    for (t, (_, total)) in teams.iter().zip(&files) {
        assert_eq!(team_total(db, t.id).await, *total, "team {}", t.slug);
    }
    let newcomers: i64 =
        on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE name = 'Shared Newcomer'")
            .fetch_one(p)
            .await
            .unwrap());
    assert_eq!(newcomers, 1);
    let unchanged: Vec<u64> = imports.iter().map(|o| o.as_ref().unwrap().unchanged).collect();
    assert_eq!(unchanged.iter().filter(|&&u| u > 0).count(), 3, "one of each team's two imports found its keys stored");
}

/// Teams that import a product new to the catalogue at the same moment
/// share one product (no unique-name failure on PostgreSQL).
async fn teams_adding_the_same_new_product_at_once_share_it(db: &Db) {
    let teams =
        join_all((0..6).map(|i| team(db, if i < 3 { ["a1", "a2", "a3"][i] } else { ["b1", "b2", "b3"][i - 3] }))).await;
    let file = b"Email,Product,Usage date,Tokens used\na@x.com,Brand New CAD,2026-11-02,5\na@x.com,brand new cad,2026-11-03,5\n";
    let outcomes = join_all(
        teams
            .iter()
            .map(|t| async move { import_usage_bytes(db, t, file, &ImportRequest::command_line("new.csv")).await }),
    )
    .await;
    for outcome in &outcomes {
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let products: Vec<String> =
        on_db!(db, |p| sqlx::query_scalar("SELECT slug FROM products WHERE lower(name) = 'brand new cad'")
            .fetch_all(p)
            .await
            .unwrap());
    assert_eq!(products, ["brand-new-cad"]);
    for t in &teams {
        assert_eq!(team_total(db, t.id).await, 10);
    }
}

db_tests!(
    parallel_writers_all_succeed_while_another_holds_the_database,
    teams_adding_the_same_new_product_at_once_share_it
);
