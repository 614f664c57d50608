//! Upgrades (issue 14): the committed fixture database, written by an
//! earlier build (`tests/fixtures/upgrade/make-fixture.sh`), is migrated by
//! this release on every run and read back against stored expectations —
//! teams, every product's and user's tokens, imports with their corrections
//! and undo, packs and the balance — so a migration that changes or loses
//! data fails here.

use std::fmt::Write;

use chrono::NaiveDate;
use tokenboard::Db;
use tokenboard::domain::range::RangeQuery;
use tokenboard::ingest::import::list_imports;
use tokenboard::report::plan::run;
use tokenboard::report::{Dimension, Metric, ReportQuery, ReportResult};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade/tokenboard.db");

fn table(out: &mut String, title: &str, result: &ReportResult) {
    writeln!(out, "  {title}:").unwrap();
    for row in &result.rows {
        let keys: Vec<String> = row.keys.iter().map(|k| k.key()).collect();
        writeln!(out, "    {} = {}", keys.join(" / "), serde_json::to_string(&row.values).unwrap()).unwrap();
    }
}

#[tokio::test]
async fn the_fixture_database_migrates_and_reads_as_it_did() {
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("tokenboard.db");
    std::fs::copy(FIXTURE, &copy).unwrap();
    let db = Db::open(&format!("sqlite://{}", copy.display())).await.expect("the fixture migrates");
    assert_eq!(db.pending_migrations().await.unwrap(), []);

    let today: NaiveDate = "2026-11-27".parse().unwrap();
    let range = RangeQuery::custom("2026-01-01".parse().unwrap(), today).resolve(today).unwrap();
    let metrics = [Metric::Tokens, Metric::Users, Metric::UserDays];
    let mut out = String::new();
    for team in tokenboard::domain::teams::all_teams(&db).await.unwrap() {
        writeln!(out, "team {} ({}, {}, personal data {})", team.slug, team.name, team.time_zone, team.personal_data)
            .unwrap();
        let totals = run(&db, &ReportQuery::totals(team.id, range, &metrics)).await.unwrap();
        writeln!(out, "  totals = {}", serde_json::to_string(&totals.totals).unwrap()).unwrap();
        for (title, dimension) in [
            ("by product", Dimension::Product),
            ("by version", Dimension::ProductVersion),
            ("by user", Dimension::User),
        ] {
            table(
                &mut out,
                title,
                &run(&db, &ReportQuery::totals(team.id, range, &metrics).by(dimension)).await.unwrap(),
            );
        }
        for import in list_imports(&db, team.id, 50).await.unwrap() {
            writeln!(
                out,
                "  import {} {:?} rows {} inserted {} updated {} unchanged {} owned {} undone {}",
                import.file_name,
                import.status,
                import.rows,
                import.inserted,
                import.updated,
                import.unchanged,
                import.owned,
                import.undone.is_some()
            )
            .unwrap();
        }
        let state = tokenboard::domain::packs::balance_state(&db, team.id, today).await.unwrap();
        for pack in &state.packs {
            let (tokens, from, to, origin) = (pack.tokens, pack.purchased_on, pack.expires_on, pack.origin);
            writeln!(out, "  pack {tokens} tokens from {from} to {to} ({origin:?})").unwrap();
        }
        writeln!(out, "  balance {:?}", state.ledger.balance()).unwrap();
    }
    insta::assert_snapshot!(out);
}
