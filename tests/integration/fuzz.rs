//! Property-based import fuzzing (issue 14): generated usage files — header
//! spellings, `,` or `;`, a BOM or none, LF or CRLF, quoted fields with
//! separators and quotes inside, ISO and dotted dates, good and bad values,
//! repeated keys — either import exactly what a reference reading of the
//! generated rows says (every row, keys summed), or are rejected with the
//! line numbers of exactly the bad rows and nothing written. Never a panic,
//! a server fault or a partial write. SQLite: the property is about the
//! file, and each case needs a fresh database.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use tokenboard::domain::teams::{NewTeam, create_team};
use tokenboard::ingest::import::{ImportError, ImportRequest, import_usage_bytes};
use tokenboard::on_db;

/// One generated row: its fields as written, and whether the reference
/// reading accepts it (with the charge it stands for).
#[derive(Clone, Debug)]
struct Row {
    fields: [String; 4],
    charge: Option<(String, String, String, i64)>,
}

fn email() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        4 => (0..6u8).prop_map(|n| (format!("User{n}@Example.com"), Some(format!("user{n}@example.com")))),
        1 => Just(("not-an-email".to_owned(), None)),
        1 => Just((String::new(), None)),
    ]
}

fn product() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        4 => prop::sample::select(vec!["Revit", "AutoCAD; LT", "Civil \"3D\"", "Éclair, Studio"])
            .prop_map(|p| (p.to_owned(), Some(p.to_owned()))),
        1 => Just((String::new(), None)),
    ]
}

fn date() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        3 => (1..=28u32).prop_map(|d| (format!("2026-10-{d:02}"), Some(format!("2026-10-{d:02}")))),
        2 => (1..=28u32).prop_map(|d| (format!("{d:02}.10.2026"), Some(format!("2026-10-{d:02}")))),
        1 => Just(("2026-13-40".to_owned(), None)),
        1 => Just(("yesterday".to_owned(), None)),
        1 => Just(("2099-01-01".to_owned(), None)),
    ]
}

fn tokens() -> impl Strategy<Value = (String, Option<i64>)> {
    prop_oneof![
        4 => (0..100_000i64).prop_map(|t| (t.to_string(), Some(t))),
        1 => (1..1000i64).prop_map(|t| (format!("{t}.0"), Some(t))),
        1 => Just(("-5".to_owned(), None)),
        1 => Just(("12abc".to_owned(), None)),
        1 => Just(("1e99".to_owned(), None)),
        1 => Just(("1000000001".to_owned(), None)),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (email(), product(), date(), tokens()).prop_map(|((e, ek), (p, pk), (d, dk), (t, tk))| Row {
        charge: match (ek, pk, dk, tk) {
            (Some(e), Some(p), Some(d), Some(t)) => Some((e, p, d, t)),
            _ => None,
        },
        fields: [e, p, d, t],
    })
}

#[derive(Clone, Debug)]
struct File {
    separator: char,
    headers: [&'static str; 4],
    bom: bool,
    crlf: bool,
    quote_all: bool,
    rows: Vec<Row>,
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::sample::select(vec![',', ';']),
        prop::sample::select(vec!["Email", "E-mail address", "user_email"]),
        prop::sample::select(vec!["Product", "Product name"]),
        prop::sample::select(vec!["Usage date", "DATE", "Day used"]),
        prop::sample::select(vec!["Tokens used", "tokens", "Token usage"]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(row(), 1..40),
    )
        .prop_map(|(separator, e, p, d, t, bom, crlf, quote_all, rows)| File {
            separator,
            headers: [e, p, d, t],
            bom,
            crlf,
            quote_all,
            rows,
        })
}

impl File {
    fn field(&self, text: &str) -> String {
        let needs = text.contains(self.separator) || text.contains('"') || text.starts_with('#');
        if self.quote_all || needs { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
    }

    fn bytes(&self) -> Vec<u8> {
        let end = if self.crlf { "\r\n" } else { "\n" };
        let line = |fields: Vec<String>| fields.join(&self.separator.to_string()) + end;
        let mut text = if self.bom { "\u{feff}".to_owned() } else { String::new() };
        text += &line(self.headers.iter().map(|h| self.field(h)).collect());
        for row in &self.rows {
            text += &line(row.fields.iter().map(|f| self.field(f)).collect());
        }
        text.into_bytes()
    }
}

/// What the database holds of the team: (e-mail, product, day) → tokens.
async fn stored(db: &tokenboard::Db, team_id: i64) -> BTreeMap<(String, String, String), i64> {
    let sql = "SELECT u.email, p.name, CAST(c.usage_date AS TEXT), CAST(c.tokens AS BIGINT) FROM usage_charges c
               JOIN team_users u ON u.id = c.user_id JOIN products p ON p.id = c.product_id WHERE c.team_id = $1";
    let rows: Vec<(String, String, String, i64)> =
        on_db!(db, |p| sqlx::query_as(sql).bind(team_id).fetch_all(p).await.unwrap());
    rows.into_iter().map(|(e, p, d, t)| ((e, p, d), t)).collect()
}

fn check(file: &File) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let test_db = tokenboard::db::testing::TestDb::sqlite().await;
        let db = &test_db.db;
        let new = NewTeam { slug: "fuzz".into(), name: "Fuzz".into(), time_zone: "UTC".into() };
        let team = create_team(db, &new).await.unwrap();
        let outcome = import_usage_bytes(db, &team, &file.bytes(), &ImportRequest::command_line("fuzz.csv")).await;
        let bad_lines: BTreeSet<u64> =
            file.rows.iter().enumerate().filter(|(_, r)| r.charge.is_none()).map(|(i, _)| i as u64 + 2).collect();
        match outcome {
            Ok(outcome) => {
                prop_assert!(bad_lines.is_empty(), "accepted although lines {bad_lines:?} are bad");
                prop_assert_eq!(outcome.rows, file.rows.len() as u64);
                let mut expected: BTreeMap<(String, String, String), i64> = BTreeMap::new();
                for (e, p, d, t) in file.rows.iter().filter_map(|r| r.charge.clone()) {
                    *expected.entry((e, p, d)).or_default() += t;
                }
                prop_assert_eq!(stored(db, team.id).await, expected);
            }
            Err(ImportError::Rejected(errors, _)) => {
                // At most 50 errors are listed, then a line that counts the rest.
                let summarised = errors.iter().any(|e| e.message.ends_with("further errors not shown"));
                let lines: BTreeSet<u64> =
                    errors.iter().filter(|e| !e.message.ends_with("not shown")).map(|e| e.line).collect();
                let first_bad: BTreeSet<u64> = bad_lines.iter().copied().take(lines.len()).collect();
                prop_assert!(lines.is_subset(&bad_lines), "a good line blamed: {:?}", errors);
                if summarised {
                    prop_assert_eq!(lines, first_bad, "the first bad lines, in order: {:?}", errors);
                } else {
                    prop_assert_eq!(lines, bad_lines, "errors: {:?}", errors);
                }
                prop_assert!(stored(db, team.id).await.is_empty(), "a rejected file wrote charges");
            }
            Err(e) => return Err(TestCaseError::fail(format!("a server fault: {e}"))),
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_import_exactly_or_are_rejected_by_line(file in file()) {
        check(&file)?;
    }
}
