//! Exports on SQLite and PostgreSQL, read back with real readers (the `csv`
//! crate and calamine): a file has exactly the rows and totals of its view,
//! personal data off leaves no name or e-mail in any file, the sweeper keeps
//! 14 days, and an interrupted job never leaves a file to serve.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use calamine::{Data, DataType, Reader, Xlsx, open_workbook};
use chrono::{Duration, NaiveDate, Utc};
use tokenboard::Db;
use tokenboard::access::audit::Actor;
use tokenboard::domain::range::{RangePreset, RangeQuery, ResolvedRange};
use tokenboard::domain::teams::{self, Team};
use tokenboard::domain::values::MAX_TOKENS_PER_CHARGE;
use tokenboard::export::history::{self, NewExport};
use tokenboard::export::job::{self, ExportContext, ExportFiles};
use tokenboard::export::{ExportFormat, ExportParams, ExportRecord, ExportReport, ExportStatus};
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::report::params::{TableOrder, UserSort, UserTableQuery};
use tokenboard::report::plan::run;
use tokenboard::report::privacy::PseudonymKey;
use tokenboard::report::{Dimension, Metric, ReportQuery};
use tokenboard::{db_tests, on_db};
use tokenboard::{report::screens, report::summary};

const END: &str = "2026-11-27";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

struct Fixture {
    ctx: ExportContext,
    team: Team,
    _dir: tempfile::TempDir,
}

async fn fixture(db: &Db) -> Fixture {
    demo::generate(db, &DemoOptions { teams: 1, users: 120, products: 10, days: 400, seed: 9, end_date: d(END) })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = ExportContext {
        db: db.clone(),
        files: ExportFiles::new(dir.path().join("exports")).unwrap(),
        key: PseudonymKey::new(b"test secret"),
    };
    let team = teams::team(db, "design-team").await.unwrap();
    Fixture { ctx, team, _dir: dir }
}

fn range(preset: RangePreset) -> ResolvedRange {
    RangeQuery::preset(preset).resolve(d(END)).unwrap()
}

fn params(range: &ResolvedRange) -> ExportParams {
    ExportParams {
        range: Some("custom".into()),
        from: Some(range.from.to_string()),
        to: Some(range.to.to_string()),
        granularity: Some(range.granularity.as_str().into()),
        ..ExportParams::default()
    }
}

/// An export of the fixture's team, recorded as running (from the command line).
async fn started(
    f: &Fixture,
    report: ExportReport,
    format: ExportFormat,
    params: &ExportParams,
    range: &ResolvedRange,
) -> ExportRecord {
    let new = NewExport { team: &f.team, actor: &Actor::CommandLine, schedule_id: None, report, format, params, range };
    history::create(&f.ctx.db, new, ExportStatus::Running, Utc::now()).await.unwrap()
}

async fn export(
    f: &Fixture,
    report: ExportReport,
    format: ExportFormat,
    params: &ExportParams,
    range: &ResolvedRange,
) -> (ExportRecord, PathBuf) {
    let record = started(f, report, format, params, range).await;
    let written = job::run(&f.ctx, &record, None).await.unwrap();
    let record = history::find(&f.ctx.db, record.id).await.unwrap().unwrap();
    assert_eq!(record.status, ExportStatus::Done);
    assert_eq!(record.rows_written as u64, written.rows);
    let path = job::servable(&f.ctx, &record).expect("a done export has its file");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), written.bytes);
    // Every export is in the audit log, with who asked and which file.
    let log = tokenboard::access::audit::for_team(&f.ctx.db, f.team.id, 1).await.unwrap();
    assert_eq!((log[0].actor.as_str(), log[0].action.as_str()), ("command line", "exported"));
    assert!(log[0].detail.starts_with(&format!("export #{}: {}", record.id, record.file_name)), "{:?}", log[0]);
    (record, path)
}

/// Header and rows, every cell as text (numbers as integers, dates ISO).
type Table = (Vec<String>, Vec<Vec<String>>);

fn read_csv(path: &Path) -> Table {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        Data::DateTime(_) => cell.as_date().unwrap().to_string(),
        Data::Empty => String::new(),
        other => panic!("unexpected cell {other:?}"),
    }
}

/// The data sheets of an XLSX, concatenated (each repeats the header), and
/// the About sheet as key → value.
fn read_xlsx(path: &Path) -> (Table, BTreeMap<String, String>) {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let names = book.sheet_names().to_vec();
    assert_eq!(names[0], "About");
    let about = book.worksheet_range("About").unwrap();
    let about = about.rows().map(|r| (cell_text(&r[0]), cell_text(&r[1]))).collect();
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for name in &names[1..] {
        let sheet = book.worksheet_range(name).unwrap();
        let mut sheet_rows = sheet.rows().map(|r| r.iter().map(cell_text).collect::<Vec<_>>());
        header = sheet_rows.next().unwrap();
        rows.extend(sheet_rows);
    }
    ((header, rows), about)
}

fn read_table(path: &Path, format: ExportFormat) -> Table {
    match format {
        ExportFormat::Csv => read_csv(path),
        ExportFormat::Xlsx => read_xlsx(path).0,
    }
}

/// A CSV opens cleanly in Excel: a BOM, then the header (the `#` line only
/// when asked for with `about=1`), and the csv crate and the import read
/// both kinds alike; a
/// workbook's data sheets keep their header row in view with a filter on it.
async fn files_open_cleanly_in_excel(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Months3);
    let (_, plain) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &params(&range), &range).await;
    let bytes = std::fs::read(&plain).unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a UTF-8 BOM first")).unwrap();
    assert!(text.starts_with("Team,First name,"), "the header comes first: {}", &text[..40]);
    let about = ExportParams { about: Some("1".into()), ..params(&range) };
    let (_, commented) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &about, &range).await;
    let bytes = std::fs::read(&commented).unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a UTF-8 BOM first")).unwrap();
    assert!(text.starts_with("# Tokenboard export; Report: Token usage;"), "{}", &text[..40]);
    assert_eq!(read_csv(&plain), read_csv(&commented), "the same table after the comment line");
    // Both read back into another team with the same charges.
    for (slug, path) in [("plain", &plain), ("commented", &commented)] {
        // A team of the same name: the file names its team.
        let new = teams::NewTeam { slug: slug.into(), name: f.team.name.clone(), time_zone: f.team.time_zone.clone() };
        let copy = teams::create_team(db, &new).await.unwrap();
        let bytes = std::fs::read(path).unwrap();
        let outcome = tokenboard::ingest::import::import_usage_csv(db, &copy, &bytes).await.unwrap();
        assert_eq!(outcome.inserted as usize, read_csv(path).1.len(), "{slug}");
    }

    let (_, workbook) = export(&f, ExportReport::ByUser, ExportFormat::Xlsx, &params(&range), &range).await;
    let rows = read_xlsx(&workbook).0.1.len();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&workbook).unwrap()).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/worksheets/sheet2.xml").unwrap(), &mut sheet).unwrap();
    assert!(
        sheet.contains(r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#),
        "{sheet:.600}"
    );
    let last_column = (b'A' + read_xlsx(&workbook).0.0.len() as u8 - 1) as char;
    assert!(sheet.contains(&format!(r#"<autoFilter ref="A1:{last_column}{}"/>"#, rows + 1)), "{sheet:.600}");
}

fn column(table: &Table, name: &str) -> usize {
    table.0.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name:?} in {:?}", table.0))
}

fn sum(table: &Table, name: &str) -> i64 {
    let i = column(table, name);
    table.1.iter().map(|r| r[i].parse::<i64>().unwrap()).sum()
}

async fn count_sql(db: &Db, sql: &str, team_id: i64, from: NaiveDate, to: NaiveDate) -> (i64, i64) {
    on_db!(db, |p| sqlx::query_as(sql).bind(team_id).bind(from).bind(to).fetch_one(p).await.unwrap())
}

async fn token_usage_exports_hold_every_charge_of_the_view(db: &Db) {
    let f = fixture(db).await;
    for preset in [RangePreset::Days30, RangePreset::Months3, RangePreset::Months12] {
        let range = range(preset);
        let (charges, tokens) = count_sql(
            db,
            "SELECT COUNT(*), CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges
             WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
            f.team.id,
            range.from,
            range.to,
        )
        .await;
        let shown = summary::summary(
            db,
            &f.team,
            tokenboard::domain::model::Role::Primary,
            d(END),
            &params(&range).range_query(),
            Default::default(),
        )
        .await
        .unwrap();
        let (_, csv_path) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &params(&range), &range).await;
        let (record, xlsx_path) =
            export(&f, ExportReport::TokenUsage, ExportFormat::Xlsx, &params(&range), &range).await;
        let csv = read_csv(&csv_path);
        let (xlsx, about) = read_xlsx(&xlsx_path);
        assert_eq!(csv, xlsx, "CSV and Excel hold the same table");
        assert_eq!(csv.0, tokenboard::export::sources::TOKEN_USAGE_COLUMNS);
        assert_eq!(csv.1.len() as i64, charges, "{preset:?}: one row per charge");
        assert_eq!(sum(&csv, "Tokens used"), tokens);
        assert_eq!(sum(&csv, "Tokens used"), shown.range_tokens, "{preset:?}: the export total is the Summary's");
        assert_eq!(about["Rows"], charges.to_string());
        assert_eq!(about["Range"], format!("{} to {}", range.from, range.to));
        assert_eq!(record.file_name, format!("tokenboard_design-team_token-usage_{}_{}.xlsx", range.from, range.to));
        let (tokens_i, pack_i) = (column(&csv, "Tokens used"), column(&csv, "Pack"));
        for row in &csv.1 {
            let paid = row[tokens_i] != "0";
            assert_eq!(!row[pack_i].is_empty(), paid, "a charge names its pack iff it costs tokens: {row:?}");
        }
        // Asked for (`about=1`), the first line of the CSV states what the file is.
        let about = ExportParams { about: Some("1".into()), ..params(&range) };
        let (_, described) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &about, &range).await;
        let text = std::fs::read_to_string(&described).unwrap();
        let first = text.trim_start_matches('\u{feff}').lines().next().unwrap().to_owned();
        assert!(first.contains(&format!("Rows: {charges}")) && first.contains("Time zone: "), "{first}");
        assert_eq!(read_csv(&described), csv, "the same table after it");
    }

    // A drill-down's export: one product, and it sums to that product's row.
    let range = range(RangePreset::Months3);
    let by_product = screens::products(db, &f.team, range, TableOrder::default()).await.unwrap();
    let top = &by_product.products.rows[0];
    let tokenboard::report::DimensionValue::Product { slug, name } = &top.keys[0] else { panic!() };
    let only = ExportParams { product: Some(slug.clone()), ..params(&range) };
    let (_, path) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &only, &range).await;
    let table = read_csv(&path);
    let product_i = column(&table, "Product");
    assert!(table.1.iter().all(|r| &r[product_i] == name));
    assert_eq!(sum(&table, "Tokens used"), top.values[0].count());
}

async fn breakdown_exports_match_their_views(db: &Db) {
    let f = fixture(db).await;
    for preset in [RangePreset::Days30, RangePreset::Months12] {
        let range = range(preset);
        let p = params(&range);

        // By product: the same rows, in the same order, with the same numbers.
        let view = screens::products(db, &f.team, range, TableOrder::default()).await.unwrap();
        let (_, path) = export(&f, ExportReport::ByProduct, ExportFormat::Xlsx, &p, &range).await;
        let (table, _) = read_xlsx(&path);
        assert_eq!(table.1.len(), view.products.rows.len());
        for (row, shown) in table.1.iter().zip(&view.products.rows) {
            assert_eq!(row[0], shown.keys[0].label());
            assert_eq!(row[1], shown.values[0].raw(), "tokens of {}", row[0]);
            assert_eq!(row[2], shown.values[1].raw(), "users of {}", row[0]);
        }
        assert_eq!(sum(&table, "Tokens used"), view.products.total(Metric::Tokens).count());

        // By user: every page of the table, in its order, totals equal.
        let sort =
            UserTableQuery { search: String::new(), sort: UserSort::Tokens, direction: Default::default(), page: 1 };
        let all = run(db, &screens::user_table_query(f.team.id, range, &sort)).await.unwrap();
        let privacy = tokenboard::report::privacy::Privacy::new(&f.ctx.key, &f.team);
        let page1 = screens::users(db, &f.team, range, sort.clone(), &privacy).await.unwrap();
        let (_, path) = export(&f, ExportReport::ByUser, ExportFormat::Csv, &p, &range).await;
        let table = read_csv(&path);
        assert_eq!(table.1.len() as u64, page1.users.total_rows, "every user of the table, not one page");
        let email_i = column(&table, "Email");
        for (row, shown) in table.1.iter().zip(&page1.users.rows) {
            let tokenboard::report::DimensionValue::User { email, .. } = &shown.keys[0] else { panic!() };
            assert_eq!(&row[email_i], email);
        }
        assert_eq!(sum(&table, "Tokens used"), all.total(Metric::Tokens).count());

        // Summary: buckets sum to the summary's total.
        let (_, path) = export(&f, ExportReport::Summary, ExportFormat::Csv, &p, &range).await;
        let table = read_csv(&path);
        let shown = summary::summary(
            db,
            &f.team,
            tokenboard::domain::model::Role::Primary,
            d(END),
            &p.range_query(),
            Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(table.1.len(), range.buckets().len());
        assert_eq!(sum(&table, "Tokens used"), shown.range_tokens);

        // Seat usage: days used add up to the user-days of By product.
        let (_, path) = export(&f, ExportReport::SeatUsage, ExportFormat::Xlsx, &p, &range).await;
        let (table, _) = read_xlsx(&path);
        assert_eq!(sum(&table, "Days used"), view.products.sum(Metric::UserDays));
        let seats: HashSet<(String, String)> = table
            .1
            .iter()
            .map(|r| (r[column(&table, "Email")].clone(), r[column(&table, "Product")].clone()))
            .collect();
        assert_eq!(seats.len(), table.1.len(), "one row per user and product");
    }

    // User details: the charge log, row for row.
    let range = range(RangePreset::Months3);
    let top_user = run(db, &ReportQuery::totals(f.team.id, range, &[Metric::Tokens]).by(Dimension::User).page(1, 0))
        .await
        .unwrap();
    let tokenboard::report::DimensionValue::User { id, .. } = top_user.rows[0].keys[0] else { panic!() };
    let view =
        screens::user_detail(db, &f.team, range, id, &tokenboard::report::privacy::Privacy::new(&f.ctx.key, &f.team))
            .await
            .unwrap();
    let p = ExportParams { user: Some(id), ..params(&range) };
    let (_, path) = export(&f, ExportReport::User, ExportFormat::Csv, &p, &range).await;
    let table = read_csv(&path);
    assert_eq!(table.1.len(), view.charges.len());
    assert_eq!(sum(&table, "Tokens used"), view.tokens);
    let (_, path) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &p, &range).await;
    assert_eq!(sum(&read_csv(&path), "Tokens used"), view.tokens, "the user's charges sum to the user's tokens");
}

async fn personal_data_off_leaves_no_name_or_email_in_any_file(db: &Db) {
    let f = fixture(db).await;
    let people: Vec<(String, String, String)> =
        on_db!(db, |p| sqlx::query_as("SELECT first_name, last_name, email FROM team_users").fetch_all(p).await)
            .unwrap();
    let set_off = "UPDATE teams SET personal_data = FALSE WHERE id = $1";
    on_db!(db, |p| sqlx::query(set_off).bind(f.team.id).execute(p).await.map(|_| ())).unwrap();
    let products: HashSet<String> = on_db!(db, |p| sqlx::query_scalar("SELECT name FROM products").fetch_all(p).await)
        .unwrap()
        .into_iter()
        .collect();
    let range = range(RangePreset::Months3);
    let p = params(&range);
    let mut hashed_ids: Vec<HashSet<String>> = Vec::new();
    for report in [ExportReport::TokenUsage, ExportReport::SeatUsage, ExportReport::ByUser, ExportReport::Product] {
        let p = if report == ExportReport::Product {
            let view = screens::products(db, &f.team, range, TableOrder::default()).await.unwrap();
            ExportParams { product: Some(view.products.rows[0].keys[0].key()), ..p.clone() }
        } else {
            p.clone()
        };
        for format in ExportFormat::ALL {
            let (_, path) = export(&f, report, format, &p, &range).await;
            let table = match format {
                ExportFormat::Csv => read_csv(&path),
                ExportFormat::Xlsx => read_xlsx(&path).0,
            };
            for (first, last, email) in &people {
                // Demo names include "Maya", also a product: names are checked in their own columns below.
                let names = [first, last].into_iter().filter(|n| !products.contains(n.as_str()));
                for secret in names.chain([email]) {
                    let row = table.1.iter().find(|r| r.contains(secret));
                    assert!(row.is_none(), "{report:?} {format:?} shows {secret:?}: {row:?}");
                }
                if format == ExportFormat::Csv {
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(!text.contains(email.as_str()), "{report:?} CSV contains {email}");
                }
            }
            let email_i = column(&table, "Email");
            let (first_i, last_i) = (column(&table, "First name"), column(&table, "Last name"));
            assert!(table.1.iter().all(|r| r[first_i] == "*****" && r[last_i] == "*****"));
            assert!(table.1.iter().all(|r| r[email_i].starts_with("u-")));
            if report == ExportReport::ByUser {
                hashed_ids.push(table.1.iter().map(|r| r[email_i].clone()).collect());
            }
        }
    }
    assert_eq!(hashed_ids[0], hashed_ids[1], "the same users get the same hashed ids in every file");
}

async fn the_sweeper_deletes_exports_after_14_days(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Days7);
    let (old, old_path) = export(&f, ExportReport::Summary, ExportFormat::Csv, &params(&range), &range).await;
    let (young, young_path) = export(&f, ExportReport::Summary, ExportFormat::Xlsx, &params(&range), &range).await;
    let age = |id: i64, days: i64| {
        let created = Utc::now() - Duration::days(days);
        let sql = "UPDATE exports SET created_at = $2, expires_at = $3 WHERE id = $1";
        let expires = created + Duration::days(tokenboard::export::RETENTION_DAYS);
        async move {
            on_db!(db, |p| sqlx::query(sql).bind(id).bind(created).bind(expires).execute(p).await.map(|_| ())).unwrap()
        }
    };
    age(old.id, 15).await;
    age(young.id, 13).await;
    let swept = job::sweep(&f.ctx, Utc::now()).await.unwrap();
    assert_eq!(swept, [old.id]);
    assert!(!old_path.exists() && history::find(db, old.id).await.unwrap().is_none());
    assert!(young_path.exists() && history::find(db, young.id).await.unwrap().is_some());
    let listed: Vec<i64> = history::list(db, f.team.id).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(listed, [young.id]);
}

/// Issue 14: the partial file of an attempt whose process was killed stayed
/// on disk until the 14-day sweep. The next attempt removes it.
async fn a_killed_attempts_partial_file_goes_with_the_next_attempt(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Days30);
    let p = params(&range);
    let record = started(&f, ExportReport::TokenUsage, ExportFormat::Xlsx, &p, &range).await;
    // The process dies mid-write: its partial file stays, and nothing runs it.
    let abandoned = f.ctx.files.temp_path(record.id, ExportFormat::Xlsx, record.attempts);
    std::fs::write(&abandoned, b"PK half a workbook").unwrap();
    let later = Utc::now() + chrono::Duration::minutes(10);
    assert_eq!(history::recover_interrupted(db, later, later).await.unwrap().requeued, [record.id]);
    let claimed = history::claim_next(db, Utc::now()).await.unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts), (record.id, 2));
    job::run(&f.ctx, &claimed, None).await.unwrap();
    assert!(!abandoned.exists(), "the killed attempt's partial file is gone");
    assert!(f.ctx.files.path(record.id, ExportFormat::Xlsx).exists());
    let leftovers: Vec<String> = std::fs::read_dir(f.ctx.files.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

async fn an_interrupted_export_is_never_served_half_written(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Months12);
    let p = params(&range);
    let record = started(&f, ExportReport::TokenUsage, ExportFormat::Csv, &p, &range).await;

    // The worker stalls mid-write (its reader takes one chunk, then nothing):
    // a dead process as far as the export is concerned.
    let (tap, mut chunks) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let stalled = {
        let (ctx, record) = (f.ctx.clone(), record.clone());
        tokio::spawn(async move { job::run(&ctx, &record, Some(tap)).await })
    };
    let first = tokio::task::spawn_blocking(move || {
        let first = chunks.blocking_recv().unwrap();
        (first, chunks)
    })
    .await
    .unwrap();
    let temp = f.ctx.files.temp_path(record.id, ExportFormat::Csv, record.attempts);
    assert!(temp.exists(), "the partial file is under its temporary name");
    assert!(!f.ctx.files.path(record.id, ExportFormat::Csv).exists());
    let now = history::find(db, record.id).await.unwrap().unwrap();
    assert_eq!(now.status, ExportStatus::Running);
    assert!(job::servable(&f.ctx, &now).is_none(), "a running export is not served");

    // After a restart the stale job is queued again and written whole.
    let later = Utc::now() + Duration::minutes(5);
    let recovery = history::recover_interrupted(db, later, later).await.unwrap();
    assert_eq!(recovery.requeued, [record.id]);
    let claimed = history::claim_next(db, Utc::now()).await.unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts), (record.id, 2));
    let written = job::run(&f.ctx, &claimed, None).await.unwrap();

    // The stalled first attempt wakes up and fails; it changes nothing.
    drop(first);
    assert!(stalled.await.unwrap().is_err());
    let done = history::find(db, record.id).await.unwrap().unwrap();
    assert_eq!(done.status, ExportStatus::Done);
    let path = job::servable(&f.ctx, &done).unwrap();
    assert_eq!(read_csv(&path).1.len() as u64, written.rows);
    assert!(!temp.exists(), "the stalled attempt's partial file is gone");
}

async fn an_exported_token_usage_file_imports_back_into_the_same_numbers(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Months3);
    let (_, path) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &params(&range), &range).await;
    // A second team of the same name (the file names its team) receives the file.
    let copy = teams::create_team(
        db,
        &teams::NewTeam { slug: "copy".into(), name: f.team.name.clone(), time_zone: f.team.time_zone.clone() },
    )
    .await
    .unwrap();
    let outcome =
        tokenboard::ingest::import::import_usage_csv(db, &copy, &std::fs::read(&path).unwrap()).await.unwrap();
    let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges
               WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3";
    let original = count_sql(db, sql, f.team.id, range.from, range.to).await;
    let imported = count_sql(db, sql, copy.id, range.from, range.to).await;
    assert_eq!(outcome.inserted as i64, original.0);
    assert_eq!(imported, original, "charges and tokens survive export and import");
}

/// A team without data, its own export directory, and an admin of it.
async fn empty_fixture(db: &Db, slug: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ExportContext {
        db: db.clone(),
        files: ExportFiles::new(dir.path().join("exports")).unwrap(),
        key: PseudonymKey::new(b"test secret"),
    };
    let new = teams::NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() };
    let team = teams::create_team(db, &new).await.unwrap();
    Fixture { ctx, team, _dir: dir }
}

/// DESIGN §1: the pack that repays an overdraft pays for the charges that
/// overdrew; the export's pack column says so, and for every pack the
/// tokens labelled with it are Balances' *Used* of that pack.
async fn the_pack_column_reconciles_with_balances_after_an_overdraft_is_repaid(db: &Db) {
    let f = empty_fixture(db, "overdrawn").await;
    let today = f.team.today();
    let day = |n: u64| today - chrono::Days::new(n);
    let first = tokenboard::domain::packs::add_pack(db, f.team.id, 30, day(20), None).await.unwrap();
    let csv = format!(
        "Email,Product,Usage date,Tokens used\n\
         a@x.com,Revit,{},10\nb@x.com,Revit,{},20\n\
         a@x.com,Revit,{},15\nb@x.com,Maya,{},5\n\
         a@x.com,Revit,{},7\n",
        day(15),
        day(15),
        day(12),
        day(12),
        day(5)
    );
    tokenboard::ingest::import::import_usage_csv(db, &f.team, csv.as_bytes()).await.unwrap();
    let second = tokenboard::domain::packs::add_pack(db, f.team.id, 100, day(8), None).await.unwrap();
    let range = RangeQuery::custom(day(30), today).resolve(today).unwrap();
    let (_, path) = export(&f, ExportReport::TokenUsage, ExportFormat::Csv, &params(&range), &range).await;
    let table = read_csv(&path);
    let (pack, tokens) = (column(&table, "Pack"), column(&table, "Tokens used"));
    let labelled = |label: &str| -> i64 {
        table.1.iter().filter(|r| r[pack] == label).map(|r| r[tokens].parse::<i64>().unwrap()).sum()
    };
    let balances =
        tokenboard::report::screens::team_balance(db, &f.team, tokenboard::domain::model::Role::Primary).await.unwrap();
    for id in [first.id, second.id] {
        let used = balances.packs.iter().find(|p| p.id == id).unwrap().used;
        assert_eq!(labelled(&format!("#{id}")), used, "pack #{id}");
    }
    assert_eq!(labelled("overdraft"), 0, "the overdraft was repaid");
    assert_eq!((labelled(&format!("#{}", first.id)), labelled(&format!("#{}", second.id))), (30, 27));
}

async fn charges_at_the_maximum_sum_exactly_in_every_export(db: &Db) {
    let f = empty_fixture(db, "big").await;
    let (today, max) = (f.team.today(), MAX_TOKENS_PER_CHARGE);
    let mut csv = "first name,last name,email,product,usage date,tokens used\n".to_owned();
    for back in 1..=6 {
        csv.push_str(&format!("Ann,Lee,ann@x.com,Revit,{},{max}\n", today - Duration::days(back)));
    }
    csv.push_str(&format!("Bob,Ray,bob@x.com,Maya,{},{max}\n", today - Duration::days(1)));
    tokenboard::ingest::import::import_usage_csv(db, &f.team, csv.as_bytes()).await.unwrap();
    let range = RangeQuery::preset(RangePreset::Days30).resolve(today).unwrap();
    for report in [ExportReport::TokenUsage, ExportReport::Summary, ExportReport::ByUser, ExportReport::ByProduct] {
        for format in ExportFormat::ALL {
            let (record, path) = export(&f, report, format, &params(&range), &range).await;
            let table = if format == ExportFormat::Csv { read_csv(&path) } else { read_xlsx(&path).0 };
            assert_eq!(sum(&table, "Tokens used"), 7 * max, "{}", record.file_name);
        }
    }
    let by_user = export(&f, ExportReport::ByUser, ExportFormat::Csv, &params(&range), &range).await.1;
    let by_user = read_csv(&by_user);
    let tokens = column(&by_user, "Tokens used");
    assert_eq!(by_user.1[0][tokens], (6 * max).to_string(), "one user's six charges pass u32::MAX and stay exact");
}

async fn admin(db: &Db, team: &Team, email: &str) -> Actor {
    let admin = tokenboard::access::accounts::upsert_admin(db, email, "long enough").await.unwrap();
    tokenboard::access::auth::grant_role(db, team.id, admin.id, tokenboard::domain::model::Role::Secondary)
        .await
        .unwrap();
    Actor::Admin { id: admin.id, email: admin.email }
}

async fn count_where(db: &Db, sql: &str, team_id: i64) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).bind(team_id).fetch_one(p).await.unwrap())
}

async fn export_caps_hold_under_parallel_requests_and_the_quota_refuses_clearly(db: &Db) {
    use tokenboard::export::history::{MAX_ACTIVE_PER_ADMIN, MAX_ACTIVE_PER_TEAM, TEAM_QUOTA_BYTES};
    let f = empty_fixture(db, "busy").await;
    let range = RangeQuery::preset(RangePreset::Days7).resolve(f.team.today()).unwrap();
    let p = params(&range);
    let start = |actor: Actor| {
        let (team, p) = (&f.team, &p);
        async move {
            let new = NewExport {
                team,
                actor: &actor,
                schedule_id: None,
                report: ExportReport::Summary,
                format: ExportFormat::Csv,
                params: p,
                range: &range,
            };
            history::create(db, new, ExportStatus::Running, Utc::now()).await
        }
    };

    // 20 parallel requests of one admin: the cap, and not one more, gets through.
    let ann = admin(db, &f.team, "ann@x.com").await;
    let outcomes = futures_util::future::join_all((0..20).map(|_| start(ann.clone()))).await;
    let started = outcomes.iter().filter(|o| o.is_ok()).count() as i64;
    assert_eq!(started, MAX_ACTIVE_PER_ADMIN);
    for outcome in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        match outcome {
            tokenboard::Error::LimitReached(m) => {
                assert_eq!(m, "you have 2 exports running; wait for one to finish")
            }
            other => panic!("{other:?}"),
        }
    }
    let exports = "SELECT COUNT(*) FROM exports WHERE team_id = $1";
    let audited = "SELECT COUNT(*) FROM audit_log WHERE team_id = $1 AND action = 'exported'";
    assert_eq!(count_where(db, exports, f.team.id).await, MAX_ACTIVE_PER_ADMIN, "a refusal writes no export");
    assert_eq!(count_where(db, audited, f.team.id).await, MAX_ACTIVE_PER_ADMIN, "and no audit row");

    // The team's cap holds across admins and for schedules.
    let bob = admin(db, &f.team, "bob@x.com").await;
    let cid = admin(db, &f.team, "cid@x.com").await;
    let more =
        futures_util::future::join_all((0..4).map(|i| start(if i % 2 == 0 { bob.clone() } else { cid.clone() }))).await;
    assert_eq!(more.iter().filter(|o| o.is_ok()).count() as i64, MAX_ACTIVE_PER_TEAM - MAX_ACTIVE_PER_ADMIN);
    match start(Actor::Scheduler).await {
        Err(tokenboard::Error::LimitReached(m)) => {
            assert_eq!(m, "this team has 4 exports running; wait for one to finish")
        }
        other => panic!("{other:?}"),
    }

    // Finished exports free their slots but fill the team's quota.
    let finish = format!("UPDATE exports SET status = 'done', bytes = {} WHERE team_id = $1", TEAM_QUOTA_BYTES / 4);
    count_where(db, &format!("{finish} RETURNING id"), f.team.id).await;
    match start(ann.clone()).await {
        Err(tokenboard::Error::LimitReached(m)) => {
            assert_eq!(m, "this team's exports use 2.0 GiB of 2.0 GiB; delete old ones or wait for the 14-day sweep")
        }
        other => panic!("{other:?}"),
    }
    // Another team's quota is its own; the admin's slots are free again.
    let other = empty_fixture(db, "other").await;
    tokenboard::access::auth::grant_role(
        db,
        other.team.id,
        ann.admin_id().unwrap(),
        tokenboard::domain::model::Role::Secondary,
    )
    .await
    .unwrap();
    let new = NewExport {
        team: &other.team,
        actor: &ann,
        schedule_id: None,
        report: ExportReport::Summary,
        format: ExportFormat::Csv,
        params: &p,
        range: &range,
    };
    history::create(db, new, ExportStatus::Running, Utc::now()).await.unwrap();
}

/// The audit log says an export had a search, never what was searched: the
/// free text may name a person (issue 10, item 6).
async fn the_audit_log_keeps_no_search_text(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Days30);
    let searched = ExportParams { q: Some("Lovelace".into()), sort: Some("name".into()), ..params(&range) };
    export(&f, ExportReport::ByUser, ExportFormat::Csv, &searched, &range).await;
    let log = tokenboard::access::audit::for_team(db, f.team.id, 1).await.unwrap();
    assert!(!log[0].detail.contains("Lovelace"), "{:?}", log[0]);
    assert!(log[0].detail.contains("search: yes") && log[0].detail.contains("sort=name"), "{:?}", log[0]);
    export(&f, ExportReport::ByUser, ExportFormat::Csv, &params(&range), &range).await;
    let log = tokenboard::access::audit::for_team(db, f.team.id, 1).await.unwrap();
    assert!(!log[0].detail.contains("search"), "{:?}", log[0]);
}

/// An export deleted while it is written (personal data switched off) leaves
/// no file behind.
async fn an_export_deleted_while_written_leaves_no_file(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Days30);
    let p = params(&range);
    let record = started(&f, ExportReport::ByUser, ExportFormat::Csv, &p, &range).await;
    history::delete(db, record.id).await.unwrap();
    assert!(job::run(&f.ctx, &record, None).await.is_err());
    assert!(!f.ctx.files.path(record.id, record.format).exists());
    assert_eq!(std::fs::read_dir(f.ctx.files.dir()).unwrap().count(), 0, "no file at all");
}

/// Switching personal data off deletes every stored file that shows names,
/// judged by how the file was written, not by the switch when it was asked
/// for: an export queued while names were hidden but written after they
/// were shown again goes too; one written hidden stays.
async fn switching_personal_data_off_deletes_every_file_with_names(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Days30);
    let p = params(&range);
    let set = |on: bool| {
        let files = f.ctx.files.clone();
        async move {
            let team = teams::team(db, "design-team").await.unwrap();
            let mut settings = tokenboard::access::settings::load(db, team.id).await.unwrap();
            settings.personal_data = on;
            tokenboard::access::settings::update(db, &files, &team, &Actor::CommandLine, &settings).await.unwrap();
        }
    };
    let create = |team: Team| {
        let p = p.clone();
        async move {
            let new = NewExport {
                team: &team,
                actor: &Actor::CommandLine,
                schedule_id: None,
                report: ExportReport::ByUser,
                format: ExportFormat::Csv,
                params: &p,
                range: &range,
            };
            history::create(db, new, ExportStatus::Running, Utc::now()).await.unwrap()
        }
    };
    set(false).await;
    let hidden = create(teams::team(db, "design-team").await.unwrap()).await;
    job::run(&f.ctx, &hidden, None).await.unwrap();
    let late = create(teams::team(db, "design-team").await.unwrap()).await;
    set(true).await;
    job::run(&f.ctx, &late, None).await.unwrap();
    let late_file = f.ctx.files.path(late.id, late.format);
    assert!(std::fs::read_to_string(&late_file).unwrap().contains('@'), "written with names");
    set(false).await;
    assert!(!late_file.exists(), "the file with names is gone");
    assert!(history::find(db, late.id).await.unwrap().is_none());
    assert!(f.ctx.files.path(hidden.id, hidden.format).is_file(), "a file without names stays");
}

async fn a_due_schedule_waits_while_its_team_is_at_the_cap(db: &Db) {
    use tokenboard::export::history::MAX_ACTIVE_PER_TEAM;
    use tokenboard::notify::schedules::{self, ScheduleInput};
    let f = empty_fixture(db, "busy").await;
    let range = RangeQuery::preset(RangePreset::Days7).resolve(f.team.today()).unwrap();
    let p = params(&range);
    for _ in 0..MAX_ACTIVE_PER_TEAM {
        started(&f, ExportReport::Summary, ExportFormat::Csv, &p, &range).await;
    }
    let today = f.team.today();
    let input = ScheduleInput {
        report: "summary".into(),
        format: "csv".into(),
        range: "30d".into(),
        cadence: "weekly".into(),
        start_on: today.to_string(),
        recipients: "lead@busy.example".into(),
    };
    let lead = tokenboard::access::accounts::upsert_admin(db, "lead@busy.example", "long enough").await.unwrap();
    tokenboard::access::auth::grant_role(db, f.team.id, lead.id, tokenboard::domain::model::Role::Primary)
        .await
        .unwrap();
    let owner = Actor::Admin { id: lead.id, email: lead.email };
    let schedule = schedules::create(db, &f.team, &owner, &input.validate().unwrap()).await.unwrap();
    assert!(schedules::queue_due(db, Utc::now()).await.unwrap().is_empty(), "the team's cap holds for schedules");
    assert_eq!(schedules::get(db, f.team.id, schedule.id).await.unwrap().next_run_on, today, "the run waits");

    count_where(db, "UPDATE exports SET status = 'done', bytes = 10 WHERE team_id = $1 RETURNING id", f.team.id).await;
    assert_eq!(schedules::queue_due(db, Utc::now()).await.unwrap().len(), 1, "a free slot takes the run");
    assert_eq!(schedules::get(db, f.team.id, schedule.id).await.unwrap().next_run_on, today + Duration::days(7));
}

/// The e-mails of a report by user, in its row order.
fn user_emails(result: &tokenboard::report::ReportResult) -> Vec<String> {
    result
        .rows
        .iter()
        .map(|r| match &r.keys[0] {
            tokenboard::report::DimensionValue::User { email, .. } => email.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The user search is one rule on screen (the usage index), in SQL and in the
/// file: `_` and `%` are plain characters, never wildcards and never dropped.
async fn a_search_finds_the_same_users_on_screen_in_sql_and_in_the_file(db: &Db) {
    let f = fixture(db).await;
    let range = range(RangePreset::Months12);
    let everyone =
        UserTableQuery { search: String::new(), sort: UserSort::Tokens, direction: Default::default(), page: 1 };
    let top = run(db, &screens::user_table_query(f.team.id, range, &everyone).page(6, 0)).await.unwrap();
    let ids: Vec<i64> = top.rows.iter().map(|r| r.keys[0].key().parse().unwrap()).collect();
    // Each name is found by exactly one reading of the searches below:
    // wildcards (john_doe ~ johnxdoe, 50% ~ 500…), dropped wildcards
    // (john_doe ~ johndoe, 50% ~ 50…) or the literal text.
    let people = [
        ("John", "Doe", "john_doe@example.com"),
        ("Johnny", "Xdoe", "johnxdoe@example.com"),
        ("Jane", "Johndoe", "johndoe@example.com"),
        ("Fifty", "Percent", "50%off@example.com"),
        ("Five", "Hundred", "500club@example.com"),
        ("Fifty", "Two", "fifty52@example.com"),
    ];
    for (id, (first, last, email)) in ids.iter().zip(people) {
        let sql = "UPDATE team_users SET first_name = $1, last_name = $2, email = $3 WHERE id = $4";
        on_db!(db, |p| drop(sqlx::query(sql).bind(first).bind(last).bind(email).bind(id).execute(p).await.unwrap()));
    }
    let bump = "UPDATE teams SET data_version = data_version + 1 WHERE id = $1";
    on_db!(db, |p| drop(sqlx::query(bump).bind(f.team.id).execute(p).await.unwrap()));
    let privacy = tokenboard::report::privacy::Privacy::new(&f.ctx.key, &f.team);
    let emails = |result: &tokenboard::report::ReportResult| -> Vec<String> {
        let mut found = user_emails(result);
        found.sort();
        found
    };
    for (search, expected) in [
        ("john_doe", vec!["john_doe@example.com"]),
        ("50%", vec!["50%off@example.com"]),
        ("  JOHN_", vec!["john_doe@example.com"]),
    ] {
        let table = UserTableQuery { search: search.into(), ..everyone.clone() };
        let screen = screens::users(db, &f.team, range, table.clone(), &privacy).await.unwrap();
        let sql =
            tokenboard::report::sql::run_sql(db, &screens::user_table_query(f.team.id, range, &table)).await.unwrap();
        let p = ExportParams { q: Some(search.into()), ..params(&range) };
        let (_, path) = export(&f, ExportReport::ByUser, ExportFormat::Csv, &p, &range).await;
        let file = read_csv(&path);
        let mut in_file: Vec<String> = file.1.iter().map(|row| row[column(&file, "Email")].clone()).collect();
        in_file.sort();
        assert_eq!(emails(&screen.users), expected, "on screen, searching {search:?}");
        assert_eq!(emails(&sql), expected, "in SQL, searching {search:?}");
        assert_eq!(in_file, expected, "in the file, searching {search:?}");
    }
}

/// Every table view exports sorted by each of its columns, both ways, in the
/// order its screen shows (By product sorted by users once answered 400).
async fn every_view_exports_sorted_by_each_of_its_columns(db: &Db) {
    use strum::VariantArray;
    use tokenboard::report::Direction;
    use tokenboard::report::params::{ProductSort, TableSort};
    let f = fixture(db).await;
    let range = range(RangePreset::Months3);
    let privacy = tokenboard::report::privacy::Privacy::new(&f.ctx.key, &f.team);
    for direction in [Direction::Asc, Direction::Desc] {
        for sort in ProductSort::VARIANTS {
            let order = TableOrder { sort: *sort, direction };
            let p = ExportParams {
                sort: Some(sort.as_str().into()),
                dir: Some(direction.as_str().into()),
                ..params(&range)
            };
            let view = screens::products(db, &f.team, range, order).await.unwrap();
            let on_screen: Vec<String> = view.products.rows.iter().map(|r| r.keys[0].label()).collect();
            for format in ExportFormat::ALL {
                let (_, path) = export(&f, ExportReport::ByProduct, format, &p, &range).await;
                let file = read_table(&path, format);
                let in_file: Vec<String> = file.1.iter().map(|row| row[column(&file, "Product")].clone()).collect();
                assert_eq!(in_file, on_screen, "by product, {sort:?} {direction:?}, {format:?}");
            }
        }
        for sort in UserSort::VARIANTS {
            let table = UserTableQuery { search: String::new(), sort: *sort, direction, page: 1 };
            let p = ExportParams {
                sort: Some(sort.as_str().into()),
                dir: Some(direction.as_str().into()),
                ..params(&range)
            };
            let all = screens::user_table(db, &f.team, range, &table, &privacy, None).await.unwrap();
            for format in ExportFormat::ALL {
                let (_, path) = export(&f, ExportReport::ByUser, format, &p, &range).await;
                let file = read_table(&path, format);
                let in_file: Vec<String> = file.1.iter().map(|row| row[column(&file, "Email")].clone()).collect();
                assert_eq!(in_file, user_emails(&all), "by user, {sort:?} {direction:?}, {format:?}");
            }
        }
    }
}

db_tests!(
    a_killed_attempts_partial_file_goes_with_the_next_attempt,
    files_open_cleanly_in_excel,
    every_view_exports_sorted_by_each_of_its_columns,
    a_search_finds_the_same_users_on_screen_in_sql_and_in_the_file,
    a_due_schedule_waits_while_its_team_is_at_the_cap,
    charges_at_the_maximum_sum_exactly_in_every_export,
    export_caps_hold_under_parallel_requests_and_the_quota_refuses_clearly,
    switching_personal_data_off_deletes_every_file_with_names,
    the_audit_log_keeps_no_search_text,
    an_export_deleted_while_written_leaves_no_file,
    an_exported_token_usage_file_imports_back_into_the_same_numbers,
    the_pack_column_reconciles_with_balances_after_an_overdraft_is_repaid,
    token_usage_exports_hold_every_charge_of_the_view,
    breakdown_exports_match_their_views,
    personal_data_off_leaves_no_name_or_email_in_any_file,
    the_sweeper_deletes_exports_after_14_days,
    an_interrupted_export_is_never_served_half_written,
);
