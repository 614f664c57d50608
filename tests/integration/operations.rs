//! Running Tokenboard for years (issue 14), on SQLite and PostgreSQL:
//! migrations say what would run and refuse a database a newer release
//! migrated; a backup taken while an import runs holds the import whole or
//! not at all.

use tokenboard::domain::range::{RangePreset, RangeQuery};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::ingest::import::{ImportRequest, import_usage_bytes};
use tokenboard::report::plan::run;
use tokenboard::report::{Dimension, Metric, ReportQuery, ReportResult};
use tokenboard::{Db, db_tests, on_db};

async fn migrations_say_what_would_run_and_a_newer_database_is_refused(db: &Db) {
    assert_eq!(db.pending_migrations().await.unwrap(), [], "a migrated database has nothing pending");
    db.migrate().await.expect("migrating twice changes nothing");

    // A migration of a release from the future.
    let future = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                  VALUES (99999, 'from a newer release', TRUE, $1, 0)";
    on_db!(db, |p| sqlx::query(future).bind(vec![0u8; 48]).execute(p).await.unwrap().rows_affected());
    let refused = db.migrate().await.unwrap_err();
    assert!(matches!(refused, tokenboard::Error::NewerDatabase(99999)), "{refused:?}");
    assert!(refused.to_string().contains("newer Tokenboard"), "{refused}");
}

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: slug.into(), time_zone: "UTC".into() }).await.unwrap()
}

/// What an admin reads of a team: totals, by product, by user, over time.
async fn reports(db: &Db, team_id: i64) -> Vec<ReportResult> {
    let range = RangeQuery::preset(RangePreset::Months3).resolve("2026-11-27".parse().unwrap()).unwrap();
    let metrics = [Metric::Tokens, Metric::Users];
    let mut out = vec![run(db, &ReportQuery::totals(team_id, range, &metrics)).await.unwrap()];
    for dimension in [Dimension::Product, Dimension::User, Dimension::Time] {
        out.push(run(db, &ReportQuery::totals(team_id, range, &metrics).by(dimension)).await.unwrap());
    }
    out
}

fn usage(users: usize, days: u32, product: &str) -> Vec<u8> {
    let mut csv = String::from("Email,Product,Usage date,Tokens used\n");
    for user in 0..users {
        for day in 0..days {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap() + chrono::Days::new(u64::from(day));
            csv.push_str(&format!("u{user}@x.example,{product},{date},{}\n", 1 + (user + day as usize) % 9));
        }
    }
    csv.into_bytes()
}

async fn a_backup_taken_during_an_import_holds_it_whole_or_not_at_all(db: &Db) {
    let scratch = tempfile::tempdir().unwrap();
    if matches!(db.pool(), tokenboard::db::Pool::Postgres(_)) {
        let refused = db.copy_into(&scratch.path().join("copy.db")).await.unwrap_err();
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        return;
    }
    let t = team(db, "design").await;
    import_usage_bytes(db, &t, &usage(20, 30, "Revit"), &ImportRequest::command_line("first.csv")).await.unwrap();
    let before = reports(db, t.id).await;
    let big = usage(400, 80, "Maya");

    let import = async {
        import_usage_bytes(db, &t, &big, &ImportRequest::command_line("big.csv")).await.unwrap();
    };
    let copies = async {
        let mut copies = Vec::new();
        for i in 0..40 {
            let path = scratch.path().join(format!("copy-{i}.db"));
            db.copy_into(&path).await.unwrap();
            copies.push(path);
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        copies
    };
    let ((), mut copies) = tokio::join!(import, copies);
    let last = scratch.path().join("copy-last.db");
    db.copy_into(&last).await.unwrap();
    copies.push(last);
    let after = reports(db, t.id).await;
    assert_ne!(before, after);

    let (mut saw_before, mut saw_after) = (0, 0);
    for path in copies {
        let copy = Db::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let state = reports(&copy, t.id).await;
        if state == before {
            saw_before += 1;
        } else if state == after {
            saw_after += 1;
        } else {
            panic!("{} holds part of the import", path.display());
        }
        copy.close().await;
    }
    assert!(saw_after > 0, "the copy after the import holds it ({saw_before} before)");
}

db_tests!(
    migrations_say_what_would_run_and_a_newer_database_is_refused,
    a_backup_taken_during_an_import_holds_it_whole_or_not_at_all,
);
