//! Imports against a real database, on SQLite and PostgreSQL: the vendor's
//! files (header names, date forms, `;`, `.xlsx` from rust_xlsxwriter and
//! from openpyxl), corrections, the history and undo — every report after an
//! undo is exactly what it was before the import.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use tokenboard::Db;
use tokenboard::access::audit::Actor;
use tokenboard::domain::range::{RangeQuery, ResolvedRange};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::ingest::import::{
    DateFormat, ImportError, ImportOutcome, ImportRequest, ImportSource, ImportStatus, import_usage_bytes,
    import_usage_file, list_imports, undo_import,
};
use tokenboard::report::plan::run;
use tokenboard::report::{Dimension, Metric, ReportQuery, ReportResult};
use tokenboard::{db_tests, on_db};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const END: &str = "2026-11-27";

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() })
        .await
        .unwrap()
}

fn request(file_name: &str, date_format: Option<DateFormat>) -> ImportRequest {
    ImportRequest {
        source: ImportSource::Upload,
        actor: "ann@admins.example".into(),
        file_name: file_name.into(),
        date_format,
        erased_key: None,
    }
}

async fn import(db: &Db, team: &Team, file: &[u8]) -> ImportOutcome {
    import_usage_bytes(db, team, file, &request("usage.csv", None)).await.unwrap()
}

/// Every charge of a team as (e-mail, product, day, feature, version, tokens), sorted.
async fn charges(db: &Db, team_id: i64) -> Vec<(String, String, String, String, String, i64)> {
    let sql = "SELECT u.email, p.name, CAST(c.usage_date AS TEXT), c.feature, c.product_version, c.tokens
               FROM usage_charges c JOIN team_users u ON u.id = c.user_id JOIN products p ON p.id = c.product_id
               WHERE c.team_id = $1 ORDER BY 1, 2, 3, 4";
    on_db!(db, |p| sqlx::query_as(sql).bind(team_id).fetch_all(p).await.unwrap())
}

/// The reports an admin reads, over a range: totals, by product, by version,
/// by user, by feature and over time.
async fn reports(db: &Db, team_id: i64, range: ResolvedRange) -> Vec<ReportResult> {
    let metrics = [Metric::Tokens, Metric::Users, Metric::UserDays, Metric::LastUsed];
    let mut out = vec![
        run(db, &ReportQuery::totals(team_id, range, &[Metric::Tokens, Metric::Users, Metric::Products]))
            .await
            .unwrap(),
    ];
    for dimension in [Dimension::Product, Dimension::ProductVersion, Dimension::User, Dimension::Feature] {
        out.push(run(db, &ReportQuery::totals(team_id, range, &metrics).by(dimension)).await.unwrap());
    }
    out.push(run(db, &ReportQuery::totals(team_id, range, &[Metric::Tokens]).by(Dimension::Time)).await.unwrap());
    out
}

fn twelve_months() -> ResolvedRange {
    RangeQuery::preset(tokenboard::domain::range::RangePreset::Months12).resolve(d(END)).unwrap()
}

async fn vendor_csv_with_semicolons_dotted_dates_and_repeated_service_uses(db: &Db) {
    let t = team(db, "design").await;
    let outcome = import(db, &t, include_bytes!("../fixtures/vendor-usage.csv")).await;
    assert_eq!((outcome.rows, outcome.inserted, outcome.updated, outcome.unchanged), (7, 6, 0, 0));
    assert_eq!(outcome.new_users, 3);
    let stored = charges(db, t.id).await;
    let render = stored.iter().find(|c| c.1 == "Cloud Rendering").unwrap();
    assert_eq!((render.2.as_str(), render.5), ("2026-11-03", 10), "two uses of a service that day add up");
    let chloe: Vec<_> = stored.iter().filter(|c| c.0 == "chloe@example.com").collect();
    assert_eq!(chloe[0].2, "2026-11-13");
}

async fn xlsx_from_openpyxl_and_rust_xlsxwriter_equal_their_csv_twin(db: &Db) {
    let from_csv = team(db, "csv").await;
    import(db, &from_csv, include_bytes!("../fixtures/vendor-usage.csv")).await;
    let expected = charges(db, from_csv.id).await;

    let openpyxl = team(db, "openpyxl").await;
    let outcome = import(db, &openpyxl, include_bytes!("../fixtures/vendor-usage.xlsx")).await;
    assert_eq!((outcome.rows, outcome.inserted), (7, 6));
    assert_eq!(charges(db, openpyxl.id).await, expected);

    let xlsxwriter = team(db, "xlsxwriter").await;
    let outcome = import(db, &xlsxwriter, &workbook_from_csv(include_str!("../fixtures/vendor-usage.csv"))).await;
    assert_eq!((outcome.rows, outcome.inserted), (7, 6));
    assert_eq!(charges(db, xlsxwriter.id).await, expected);

    // A bad cell is reported with its sheet row.
    let bad = include_str!("../fixtures/vendor-usage.csv").replace(";10\n", ";-10\n");
    match import_usage_bytes(db, &xlsxwriter, &workbook_from_csv(&bad), &request("bad.xlsx", None)).await {
        Err(ImportError::Rejected(errors, Some(_))) => {
            assert_eq!(errors[0].line, 4, "title, blank, header, then the first charge: {errors:?}");
            assert!(errors[0].message.contains("negative tokens"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
}

/// The `;` CSV as a workbook written by rust_xlsxwriter: a title row, real
/// date cells and number cells.
fn workbook_from_csv(csv: &str) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Token usage").unwrap();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (i, line) in csv.lines().enumerate() {
        let row = i as u32 + 2;
        for (col, value) in line.split(';').enumerate() {
            let col = col as u16;
            match (i, col) {
                (0, _) | (_, 0..=5) => {
                    sheet.write_string(row, col, value).unwrap();
                }
                (_, 6) => {
                    let parts: Vec<u16> = value.split('.').map(|p| p.parse().unwrap()).collect();
                    let date = ExcelDateTime::from_ymd(parts[2], parts[1] as u8, parts[0] as u8).unwrap();
                    sheet.write_datetime_with_format(row, col, &date, &date_format).unwrap();
                }
                _ => {
                    sheet.write_number(row, col, value.parse::<f64>().unwrap()).unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// A workbook that names a far-away cell costs its cells, not its area
/// (the last cell of a sheet is 17 billion cells from the first).
async fn a_sparse_workbook_is_read_cell_by_cell(db: &Db) {
    let t = team(db, "design").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["Email", "Product", "Date", "Tokens"].iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (col, value) in ["far@x.com", "Revit", "2026-11-02"].iter().enumerate() {
        sheet.write_string(1, col as u16, *value).unwrap();
    }
    sheet.write_number(1, 3, 4.0).unwrap();
    sheet.write_string(1_048_575, 16_383, "far away").unwrap();
    let outcome = import(db, &t, &book.save_to_buffer().unwrap()).await;
    assert_eq!((outcome.rows, outcome.inserted), (1, 1));
}

async fn ambiguous_slash_dates_are_rejected_naming_date_format(db: &Db) {
    let t = team(db, "design").await;
    let file = b"Email,Product,Date used,Tokens\na@x.com,Revit,3/4/2026,5\nb@x.com,Revit,5/6/2026,5\n";
    match import_usage_bytes(db, &t, file, &request("us.csv", None)).await {
        Err(ImportError::Rejected(errors, Some(id))) => {
            assert!(errors[0].message.contains("--date-format"), "{errors:?}");
            let history = list_imports(db, t.id, 10).await.unwrap();
            assert_eq!((history[0].id, history[0].status), (id, ImportStatus::Rejected));
            assert_eq!(history[0].errors, errors, "the history keeps the bad lines");
        }
        other => panic!("{other:?}"),
    }
    assert!(charges(db, t.id).await.is_empty(), "a rejected file writes nothing");
    let outcome = import_usage_bytes(db, &t, file, &request("us.csv", Some(DateFormat::MonthFirst))).await.unwrap();
    assert_eq!(outcome.inserted, 2);
    let days: Vec<String> = charges(db, t.id).await.into_iter().map(|c| c.2).collect();
    assert_eq!(days, ["2026-03-04", "2026-05-06"]);
}

/// Issue 14: a row whose first field starts with `#` was skipped as a
/// comment, without a word. Only `#` lines before the header are comments;
/// bad lines keep their line numbers in the file.
async fn a_data_row_starting_with_a_hash_is_data(db: &Db) {
    let t = team(db, "hash").await;
    let file = "# Tokenboard export; Report: Token usage\nFirst name,Last name,Email,Product,Usage date,Tokens used\n\
                #Ann,Lee,ann@x.com,Revit,2026-11-02,7\nBob,Ray,bob@x.com,Revit,2026-11-03,5\n";
    assert_eq!(import(db, &t, file.as_bytes()).await.inserted, 2);
    let first: String =
        on_db!(db, |p| sqlx::query_scalar("SELECT first_name FROM team_users WHERE email = 'ann@x.com'")
            .fetch_one(p)
            .await
            .unwrap());
    assert_eq!(first, "#Ann");
    let bad =
        "# about\nEmail,Product,Usage date,Tokens used\n#x@x.com,Revit,2026-11-02,1\nb@x.com,Revit,2026-11-02,-4\n";
    match import_usage_bytes(db, &t, bad.as_bytes(), &request("bad.csv", None)).await {
        Err(ImportError::Rejected(errors, _)) => assert_eq!(errors[0].line, 4, "{errors:?}"),
        other => panic!("{other:?}"),
    }
}

/// Issue 14: a product name with a non-ASCII capital imported once, then
/// every later import naming it failed with 500 (SQLite's `lower()` folds
/// ASCII only, Rust's to_lowercase everything). One rule now, in Rust.
async fn product_names_match_by_one_unicode_case_rule(db: &Db) {
    let (a, b) = (team(db, "fold-a").await, team(db, "fold-b").await);
    let file = |product: &str| format!("Email,Product,Usage date,Tokens used\na@x.com,{product},2026-11-02,3\n");
    let products = || async {
        let n: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(p).await.unwrap());
        n
    };
    let before = products().await;
    for (first, again) in [("Éclair Studio", "ÉCLAIR STUDIO"), ("ÄRVIT", "ärvit"), ("Straße Design", "STRASSE DESIGN")]
    {
        assert_eq!(import(db, &a, file(first).as_bytes()).await.new_products, vec![first.to_owned()]);
        // The same name again, and another spelling of it, in another team: the same product.
        assert!(import(db, &a, file(first).as_bytes()).await.new_products.is_empty(), "{first} again");
        assert!(import(db, &b, file(again).as_bytes()).await.new_products.is_empty(), "{again}");
    }
    assert_eq!(products().await, before + 3);
    let (id, added) = tokenboard::domain::products::ensure_product(
        db,
        " éclair studio ",
        tokenboard::domain::products::ProductKind::Desktop,
    )
    .await
    .unwrap();
    assert!(!added && id > 0, "the catalogue's lookup follows the same rule");
}

async fn a_correction_replaces_tokens_and_reports_follow(db: &Db) {
    let t = team(db, "design").await;
    let header = "Email,Product,Usage date,Feature,Tokens used\n";
    import(
        db,
        &t,
        format!("{header}a@x.com,Revit,2026-11-02,Desktop,10\nb@x.com,Revit,2026-11-02,Desktop,10\n").as_bytes(),
    )
    .await;
    let range = RangeQuery::custom(d("2026-11-01"), d("2026-11-27")).resolve(d(END)).unwrap();
    let before = reports(db, t.id, range).await;

    let corrected = format!("{header}a@x.com,Revit,2026-11-02,Desktop,3\nb@x.com,Revit,2026-11-02,Desktop,10\n");
    let outcome = import(db, &t, corrected.as_bytes()).await;
    assert_eq!((outcome.inserted, outcome.updated, outcome.unchanged), (0, 1, 1));
    let again = import(db, &t, corrected.as_bytes()).await;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2), "the same file again changes nothing");
    let after = reports(db, t.id, range).await;
    assert_ne!(before, after);
    let sql_total: i64 =
        on_db!(db, |p| sqlx::query_scalar("SELECT CAST(SUM(tokens) AS BIGINT) FROM usage_charges WHERE team_id = $1")
            .bind(t.id)
            .fetch_one(p)
            .await
            .unwrap());
    assert_eq!(sql_total, 13);
    assert_eq!(after[0].total(Metric::Tokens).count(), 13);
    assert_eq!(after[1].sum(Metric::Tokens), 13, "by product");
    let mut by_user: Vec<i64> = after[3].rows.iter().map(|r| r.values[0].count()).collect();
    by_user.sort();
    assert_eq!(by_user, [3, 10], "by user");
}

/// An erased person named again by a later file is not created again: their
/// rows go to the erased user, so nothing doubles and no name comes back.
async fn an_erased_person_stays_erased_when_a_file_names_them_again(db: &Db) {
    let t = team(db, "design").await;
    let file =
        b"First name,Last name,Email,Product,Usage date,Tokens used\nAda,Lovelace,ada@x.com,Revit,2026-11-02,5\n";
    import(db, &t, file).await;
    let user: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT id FROM team_users WHERE email = 'ada@x.com'")
        .fetch_one(p)
        .await
        .unwrap());
    let key = tokenboard::report::privacy::PseudonymKey::new(b"integration secret");
    let dir = tempfile::tempdir().unwrap();
    let files = tokenboard::export::job::ExportFiles::new(dir.path()).unwrap();
    tokenboard::access::erasure::erase_user(db, &files, &key, &t, user, &Actor::CommandLine).await.unwrap();
    let again = ImportRequest { erased_key: Some(key), ..request("again.csv", None) };
    let outcome = import_usage_bytes(db, &t, file, &again).await.unwrap();
    assert_eq!((outcome.inserted, outcome.unchanged, outcome.new_users), (0, 1, 0));
    let names: Vec<String> =
        on_db!(db, |p| sqlx::query_scalar("SELECT email || first_name || last_name FROM team_users")
            .fetch_all(p)
            .await
            .unwrap());
    assert!(names.iter().all(|n| !n.contains("ada@") && !n.contains("Lovelace")), "{names:?}");
}

/// After each change the usage index is patched with the days that changed
/// (not rebuilt), and what it says equals an index built from every charge:
/// new charges on days it holds, corrections, new users and products, two
/// imports between two reads, an undo, days that held none (the import's
/// own charges layered over the index, then compacted); an erasure (names)
/// and a day before every other are rebuilt whole.
async fn the_patched_usage_index_equals_a_fresh_build(db: &Db) {
    use tokenboard::report::index::{Origin, assert_equals_a_fresh_build};
    let end = d(END);
    demo::generate(db, &DemoOptions { teams: 1, users: 40, products: 6, days: 90, seed: 5, end_date: end })
        .await
        .unwrap();
    let t = tokenboard::domain::teams::all_teams(db).await.unwrap().remove(0);
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Build, "the first index is built");

    // An existing charge corrected, another feature on a used day, a new
    // user, a new product, a day after every other.
    let (email, product, day, feature): (String, String, NaiveDate, String) = on_db!(db, |p| sqlx::query_as(
        "SELECT u.email, p.name, c.usage_date, c.feature FROM usage_charges c
         JOIN team_users u ON u.id = c.user_id JOIN products p ON p.id = c.product_id
         WHERE c.team_id = $1 ORDER BY c.usage_date, u.email LIMIT 1 OFFSET 500"
    )
    .bind(t.id)
    .fetch_one(p)
    .await
    .unwrap());
    let header = "Email,Product,Usage date,Feature,Tokens used\n";
    let file = format!(
        "{header}{email},{product},{day},{feature},1234\n{email},{product},{day},Another feature,7\n\
         newcomer@x.com,{product},{day},Desktop,3\n{email},Brand New Product,{end},Desktop,11\n"
    );
    let first = import(db, &t, file.as_bytes()).await;
    assert_eq!((first.inserted, first.updated), (3, 1));
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after an import");

    // Two imports before the next read: one patch covers both.
    let a = format!("{header}{email},{product},{},Desktop,5\n", end - chrono::Days::new(40));
    let b = format!("{header}second@x.com,{product},{},Desktop,6\n", end - chrono::Days::new(2));
    import(db, &t, a.as_bytes()).await;
    let second = import(db, &t, b.as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after two imports");

    // An import lists the users it touched: only theirs are re-read, the
    // others' charges of those days are kept as they were.
    let listed = async || {
        on_db!(db, |p| sqlx::query_as::<_, (Option<i64>, i64)>(
            "SELECT c.touched_users, (SELECT COUNT(*) FROM usage_change_users l
               WHERE l.team_id = c.team_id AND l.data_version = c.data_version)
             FROM usage_changes c JOIN teams t ON t.id = c.team_id
             WHERE c.team_id = $1 AND c.data_version = t.data_version"
        )
        .bind(t.id)
        .fetch_one(p)
        .await
        .unwrap())
    };
    assert_eq!(listed().await, (Some(1), 1), "the second import touched one user");
    // A listed import, then an undo (which lists nobody) before the next
    // read: every user of their days is re-read.
    let c = format!(
        "{header}{email},{product},{},Desktop,8
",
        end - chrono::Days::new(5)
    );
    import(db, &t, c.as_bytes()).await;
    undo_import(db, t.id, second.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!(listed().await, (None, 0), "an undo lists no users");
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after an import and an undo");
    let second = import(db, &t, b.as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after the same import again");

    // More users than a change lists: none listed, every user re-read.
    let mut many = String::from(header);
    for n in 0..=tokenboard::report::rollups::MAX_LISTED_USERS {
        many.push_str(&format!("crowd{n}@x.com,{product},{},Desktop,1\n", end - chrono::Days::new(3)));
    }
    import(db, &t, many.as_bytes()).await;
    assert_eq!(listed().await, (None, 0), "too many users to list");
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after an import of many users");

    // Undo: the corrected charge comes back, the added ones go.
    undo_import(db, t.id, first.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after an undo");
    undo_import(db, t.id, second.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after the undo of a new user's only day");

    // Names change with an erasure: rebuilt.
    let user = tokenboard::access::erasure::user_by_email(db, &t, &email).await.unwrap();
    let key = tokenboard::report::privacy::PseudonymKey::new(b"integration secret");
    let dir = tempfile::tempdir().unwrap();
    let files = tokenboard::export::job::ExportFiles::new(dir.path()).unwrap();
    tokenboard::access::erasure::erase_user(db, &files, &key, &t, user, &Actor::CommandLine).await.unwrap();
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Build, "after an erasure");

    // A day before the index's first: beyond its offsets, rebuilt.
    let early = format!("{header}early@x.com,{product},{},Desktop,2\n", end - chrono::Days::new(2000));
    import(db, &t, early.as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Build, "after a day before every other");
    import(db, &t, format!("{header}late@x.com,{product},{end},Desktop,2\n").as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "and patched again after that");

    // A day that held none of the team's charges, by known users and
    // products (one key twice, one product's day in two features): the
    // charges the import handed over become a layer over the index instead
    // of being read back, and views answer from both layers until a
    // background copy merges them. A correction of that day and the undo of
    // its import are read back again.
    let quiet = end - chrono::Days::new(1999);
    let new_day = format!(
        "{header}late@x.com,{product},{quiet},Desktop,4\nlate@x.com,{product},{quiet},Desktop,5\n\
         late@x.com,{product},{quiet},Another feature,3\nearly@x.com,Brand New Product,{quiet},Desktop,6\n"
    );
    let quiet_import = import(db, &t, new_day.as_bytes()).await;
    assert_eq!(quiet_import.inserted, 3);
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::ImportedDays, "after a day that held none");
    // Another such day while the layers may still be merging: the refresh
    // waits for the merge and lays the new day over its result.
    let next_quiet = format!("{header}late@x.com,{product},{},Desktop,7\n", quiet + chrono::Days::new(1));
    import(db, &t, next_quiet.as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::ImportedDays, "after a second day that held none");
    // The layers are merged into one in the background.
    tokenboard::report::index::settled(db, t.id).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Compacted, "once merged");
    import(db, &t, format!("{header}early@x.com,Brand New Product,{quiet},Desktop,9\n").as_bytes()).await;
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after a correction of that day");
    undo_import(db, t.id, quiet_import.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Patch, "after the undo of that day's import");

    // A change log the patch cannot read (SQLite keeps any text in a DATE
    // column): the index is rebuilt, and the views keep answering.
    if matches!(db.pool(), tokenboard::db::Pool::Sqlite(_)) {
        on_db!(db, |p| {
            sqlx::query("UPDATE teams SET data_version = data_version + 1 WHERE id = $1")
                .bind(t.id)
                .execute(p)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO usage_changes (team_id, data_version, first_day, last_day)
                 SELECT id, data_version, 'not a day', 'not a day' FROM teams WHERE id = $1",
            )
            .bind(t.id)
            .execute(p)
            .await
            .unwrap();
        });
        assert_eq!(assert_equals_a_fresh_build(db, t.id).await, Origin::Build, "after an unreadable change log");
    }
}

/// A file that only corrects a charge's version: the version report follows,
/// and its undo puts the old version back.
async fn a_version_correction_moves_the_version_report(db: &Db) {
    let t = team(db, "design").await;
    let file = |version: &str| {
        format!("Email,Product,Product version,Usage date,Tokens used\na@x.com,Revit,{version},2026-11-02,5\n")
    };
    import(db, &t, file("2026").as_bytes()).await;
    let range = RangeQuery::custom(d("2026-11-01"), d("2026-11-27")).resolve(d(END)).unwrap();
    let versions = |r: &ReportResult| -> Vec<String> { r.rows.iter().map(|row| row.keys[0].key()).collect() };
    let before = reports(db, t.id, range).await;
    assert_eq!(versions(&before[2]), ["2026"]);
    let outcome = import(db, &t, file("2027").as_bytes()).await;
    assert_eq!((outcome.updated, outcome.unchanged), (1, 0));
    assert_eq!(versions(&reports(db, t.id, range).await[2]), ["2027"]);
    undo_import(db, t.id, outcome.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!(reports(db, t.id, range).await, before);
}

/// A year of demo usage, then a file that adds charges and corrects others;
/// undoing it brings every report back to exactly what it was.
async fn undo_brings_every_report_back(db: &Db) {
    let end = d(END);
    demo::generate(db, &DemoOptions { teams: 1, users: 40, products: 6, days: 120, seed: 9, end_date: end })
        .await
        .unwrap();
    let t = tokenboard::domain::teams::team(db, "design-team").await.unwrap();
    let range = twelve_months();
    let before = reports(db, t.id, range).await;
    let stored_before = charges(db, t.id).await;

    // Corrections of ten stored charges (tokens + 1), and two new charges.
    let mut file = String::from("Email,Product,Product version,Feature,Usage date,Tokens used\n");
    for (email, product, day, feature, version, tokens) in stored_before.iter().step_by(37).take(10) {
        file.push_str(&format!("{email},{product},{version},{feature},{day},{}\n", tokens + 1));
    }
    file.push_str("new@x.com,Revit,2026,Desktop,2026-11-20,50\nnew@x.com,Brand New,1,Desktop,2026-11-21,5\n");
    let outcome = import(db, &t, file.as_bytes()).await;
    assert_eq!((outcome.inserted, outcome.updated, outcome.unchanged), (2, 10, 0));
    assert_ne!(reports(db, t.id, range).await, before);

    let undone = undo_import(db, t.id, outcome.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!((undone.removed, undone.restored, undone.kept), (2, 10, 0));
    assert_eq!(charges(db, t.id).await, stored_before);
    assert_eq!(reports(db, t.id, range).await, before, "every report is back to its earlier numbers");

    let history = list_imports(db, t.id, 10).await.unwrap();
    assert!(history[0].undone.is_some() && !history[0].can_undo());
    let again = undo_import(db, t.id, outcome.import_id.unwrap(), &Actor::CommandLine).await;
    assert!(matches!(again, Err(tokenboard::Error::Invalid(_))), "{again:?}");
    let audit = tokenboard::access::audit::for_team(db, t.id, 10).await.unwrap();
    assert_eq!(audit[0].action, "import-undone");
}

async fn undo_after_a_partial_overwrite_keeps_the_later_import(db: &Db) {
    let t = team(db, "design").await;
    let header = "Email,Product,Usage date,Tokens used\n";
    let a = import(db, &t, format!("{header}k1@x.com,Revit,2026-11-02,10\nk2@x.com,Revit,2026-11-02,10\n").as_bytes())
        .await;
    let b =
        import(db, &t, format!("{header}k2@x.com,Revit,2026-11-02,20\nk3@x.com,Revit,2026-11-03,5\n").as_bytes()).await;
    assert_eq!((b.inserted, b.updated), (1, 1));
    let history = list_imports(db, t.id, 10).await.unwrap();
    let first = history.iter().find(|i| Some(i.id) == a.import_id).unwrap();
    assert_eq!((first.owned, first.overwritten()), (1, 1), "the page says one row was overwritten later");

    let undone = undo_import(db, t.id, a.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!((undone.removed, undone.restored, undone.kept), (1, 0, 1));
    let tokens = |c: Vec<(String, String, String, String, String, i64)>| -> Vec<(String, i64)> {
        c.into_iter().map(|c| (c.0, c.5)).collect()
    };
    assert_eq!(tokens(charges(db, t.id).await), [("k2@x.com".into(), 20), ("k3@x.com".into(), 5)]);

    // Undoing B now must not bring A's k2 back: A is undone.
    let undone = undo_import(db, t.id, b.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!((undone.removed, undone.restored, undone.kept), (2, 0, 0));
    assert!(charges(db, t.id).await.is_empty());
    let daily: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM daily_usage WHERE team_id = $1")
        .bind(t.id)
        .fetch_one(p)
        .await
        .unwrap());
    assert_eq!(daily, 0, "the rollups follow the undo");
}

async fn undo_of_the_later_import_restores_the_earlier_one(db: &Db) {
    let t = team(db, "design").await;
    let header = "Email,Product,Usage date,Tokens used\n";
    let a = import(db, &t, format!("{header}k1@x.com,Revit,2026-11-02,10\nk2@x.com,Revit,2026-11-02,10\n").as_bytes())
        .await;
    let b = import(db, &t, format!("{header}k2@x.com,Revit,2026-11-02,20\n").as_bytes()).await;
    let undone = undo_import(db, t.id, b.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!((undone.removed, undone.restored), (0, 1));
    let history = list_imports(db, t.id, 10).await.unwrap();
    let first = history.iter().find(|i| Some(i.id) == a.import_id).unwrap();
    assert_eq!((first.owned, first.overwritten()), (2, 0), "A owns k2 again");
    let undone = undo_import(db, t.id, a.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    assert_eq!((undone.removed, undone.kept), (2, 0));
    assert!(charges(db, t.id).await.is_empty());
}

async fn the_history_records_who_what_and_when(db: &Db) {
    let t = team(db, "design").await;
    let file = b"Email,Product,Usage date,Tokens used\na@x.com,Revit,2026-11-02,1\nb@x.com,Maya,2026-11-05,1\n";
    let outcome = import(db, &t, file).await;
    let history = list_imports(db, t.id, 10).await.unwrap();
    let record = &history[0];
    assert_eq!(Some(record.id), outcome.import_id);
    assert_eq!(
        (record.source, record.actor.as_str(), record.file_name.as_str()),
        (ImportSource::Upload, "ann@admins.example", "usage.csv")
    );
    assert_eq!(record.sha256, hex::encode(Sha256::digest(file)));
    assert_eq!((record.rows, record.inserted, record.updated, record.unchanged), (2, 2, 0, 0));
    assert_eq!((record.first_day, record.last_day), (Some(d("2026-11-02")), Some(d("2026-11-05"))));
    assert_eq!((record.new_products.len(), record.new_users), (2, 2));
    assert!(record.can_undo());
    let other = team(db, "other").await;
    assert!(list_imports(db, other.id, 10).await.unwrap().is_empty(), "another team sees none of it");
    let foreign = undo_import(db, other.id, record.id, &Actor::CommandLine).await;
    assert!(matches!(foreign, Err(tokenboard::Error::NotFound(_))), "{foreign:?}");
}

/// "Data through … · last import …": the newest usage day and the newest
/// import that stands; stale after the team's setting, once alerted.
async fn freshness_follows_imports_and_undo_and_alerts_once_when_stale(db: &Db) {
    let t = team(db, "design").await;
    let fresh = tokenboard::ingest::import::freshness(db, &t).await.unwrap();
    assert_eq!((fresh.data_through, fresh.last_import.is_none(), fresh.stale), (None, true, false));
    let today = t.today();
    let old = today - chrono::Days::new(10);
    let file = format!("Email,Product,Usage date,Tokens used\na@x.com,Revit,{old},5\n");
    let first = import(db, &t, file.as_bytes()).await;
    let fresh = tokenboard::ingest::import::freshness(db, &t).await.unwrap();
    assert_eq!((fresh.data_through, fresh.stale_after_days, fresh.stale), (Some(old), 3, true));
    assert_eq!(fresh.last_import.as_ref().map(|l| l.actor.as_str()), Some("ann@admins.example"));

    let now = chrono::Utc::now();
    let sent = tokenboard::notify::alerts::check_team(db, &t, now).await.unwrap();
    assert!(sent.iter().any(|e| matches!(e, tokenboard::notify::alerts::AlertEvent::StaleData { .. })), "{sent:?}");
    let again = tokenboard::notify::alerts::check_team(db, &t, now).await.unwrap();
    assert!(again.is_empty(), "one crossing, one alert: {again:?}");

    let recent = format!("Email,Product,Usage date,Tokens used\na@x.com,Revit,{today},5\n");
    let second = import(db, &t, recent.as_bytes()).await;
    let fresh = tokenboard::ingest::import::freshness(db, &t).await.unwrap();
    assert_eq!((fresh.data_through, fresh.stale), (Some(today), false));
    undo_import(db, t.id, second.import_id.unwrap(), &Actor::CommandLine).await.unwrap();
    let fresh = tokenboard::ingest::import::freshness(db, &t).await.unwrap();
    assert_eq!((fresh.data_through, fresh.stale), (Some(old), true), "the undo takes the fresh day back");
    assert!(first.import_id.is_some());
}

/// `bench --import`'s file holds a team's charges as the vendor writes them:
/// imported into another team it gives the same charges, the baseline loads
/// every row of it, and a shifted one-day file moves the day and the tokens.
async fn the_bench_usage_file_reimports_as_it_was_and_loads_as_the_baseline(db: &Db) {
    use tokenboard::ingest::bench::{UsageSelection, baseline_load, write_usage_file};
    let end = d(END);
    demo::generate(db, &DemoOptions { teams: 1, users: 30, products: 6, days: 40, seed: 3, end_date: end })
        .await
        .unwrap();
    let original = tokenboard::domain::teams::team(db, "design-team").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.csv");
    let all = UsageSelection { from: end - chrono::Days::new(39), to: end, shift_days: 0, extra_tokens: 0 };
    let rows = write_usage_file(db, original.id, all, &file).await.unwrap();
    let stored = charges(db, original.id).await;
    assert_eq!(rows, stored.len() as u64);
    assert!(rows > 100, "{rows}");

    let copy = team(db, "copy").await;
    let outcome =
        import_usage_bytes(db, &copy, &std::fs::read(&file).unwrap(), &request("usage.csv", None)).await.unwrap();
    assert_eq!((outcome.rows, outcome.inserted), (rows, rows));
    assert_eq!(charges(db, copy.id).await, stored);
    assert_eq!(baseline_load(db, &file).await.unwrap().0, rows);

    let one_day = dir.path().join("day.csv");
    let last = UsageSelection { from: end, to: end, shift_days: 1, extra_tokens: 2 };
    let day_rows = write_usage_file(db, original.id, last, &one_day).await.unwrap();
    let on_end: Vec<_> = stored.iter().filter(|c| c.2 == END).collect();
    assert_eq!(day_rows, on_end.len() as u64);
    let text = std::fs::read_to_string(&one_day).unwrap();
    let next = (end + chrono::Days::new(1)).to_string();
    let tokens: i64 = text.lines().skip(1).map(|line| line.rsplit(',').next().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(tokens, on_end.iter().map(|c| c.5 + 2).sum::<i64>());
    assert!(text.lines().skip(1).all(|line| line.contains(&next)), "{text}");
}

/// A file read ahead on its own thread, chunk after chunk (20,000 rows
/// each): a key in the first and the last chunk adds up, and a bad row in a
/// later chunk rejects the whole file, names its line and writes nothing.
async fn a_file_of_several_chunks_adds_up_across_them_and_a_late_bad_row_writes_nothing(db: &Db) {
    let team = team(db, "chunks").await;
    let dir = tempfile::tempdir().unwrap();
    let file = |rows: &[String]| {
        let path = dir.path().join("usage.csv");
        let mut text = String::from("email,product,feature,usage date,tokens used\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut rows: Vec<String> = (0..45_000)
        .map(|n| format!("u{}@x.com,Revit,Desktop,2026-{:02}-{:02},3", n % 1500, 9 + n / 30_000, 1 + (n / 1500) % 20))
        .collect();
    rows.push("u0@x.com,Revit,Desktop,2026-09-01,4".into());
    let mut with_bad = rows.clone();
    with_bad[44_000] = "u7@x.com,Revit,Desktop,2026-13-01,3".into();

    let rejected = import_usage_file(db, &team, &file(&with_bad), &request("usage.csv", None), &mut |_| {}).await;
    match rejected {
        Err(ImportError::Rejected(errors, _)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].line, 44_002, "{errors:?}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(charges(db, team.id).await.is_empty(), "nothing written");

    let mut seen = Vec::new();
    let outcome = import_usage_file(db, &team, &file(&rows), &request("usage.csv", None), &mut |p| seen.push(p.rows))
        .await
        .unwrap();
    assert_eq!((outcome.rows, outcome.inserted), (45_001, 45_000));
    assert_eq!(seen, [20_000, 40_000, 45_001], "progress per chunk");
    let stored = charges(db, team.id).await;
    let first = stored.iter().find(|c| c.0 == "u0@x.com" && c.2 == "2026-09-01").unwrap();
    assert_eq!(first.5, 3 + 4, "the key of the first and the last chunk adds up");
    assert_eq!(stored.iter().map(|c| c.5).sum::<i64>(), 45_000 * 3 + 4);
    // The version rollup of that day counts the key once (a tally of the
    // staged keys would count it twice).
    let day: (i64, i64) = on_db!(db, |p| sqlx::query_as(
        "SELECT CAST(SUM(tokens) AS BIGINT), CAST(SUM(charges) AS BIGINT) FROM daily_version_usage
         WHERE team_id = $1 AND usage_date = $2"
    )
    .bind(team.id)
    .bind(d("2026-09-01"))
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(day, (1500 * 3 + 4, 1500), "the version rollup of the repeated key's day");
}

/// The server and the command line import on a multi-threaded runtime,
/// where SQLite stages each chunk under `block_in_place` (the tests' own
/// runtime stages inline): the same file of several chunks, the same result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_several_chunks_imports_on_a_multi_threaded_runtime() {
    let test_db = tokenboard::db::testing::TestDb::sqlite().await;
    a_file_of_several_chunks_adds_up_across_them_and_a_late_bad_row_writes_nothing(&test_db.db).await;
}

/// An import of more keys than the database stores builds the charges'
/// secondary indexes again after its merge on SQLite (`write.rs`): they
/// come back as they were, inside the import's transaction, and answer
/// the reads they serve; a smaller import keeps them as they are.
async fn a_bulk_import_leaves_the_charges_indexes_as_it_found_them(db: &Db) {
    let indexes = async || -> Vec<(String, String)> {
        let listed = match db.pool() {
            tokenboard::db::Pool::Sqlite(p) => sqlx::query_as(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_charges' ORDER BY 1",
            )
            .fetch_all(p)
            .await
            .unwrap(),
            tokenboard::db::Pool::Postgres(p) => sqlx::query_as(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_charges' ORDER BY 1",
            )
            .fetch_all(p)
            .await
            .unwrap(),
        };
        assert!(listed.len() >= 3, "{listed:?}");
        listed
    };
    let before = indexes().await;
    let team = team(db, "bulk").await;
    let mut file = String::from("email,product,feature,usage date,tokens used\n");
    for day in 1..=20 {
        for user in 0..5 {
            file.push_str(&format!("u{user}@x.com,Revit,Desktop,2026-10-{day:02},{}\n", day + user));
        }
    }
    let first = import(db, &team, file.as_bytes()).await;
    assert_eq!(first.inserted, 100);
    assert_eq!(indexes().await, before, "the indexes after a bulk import");
    let small = import(db, &team, b"email,product,usage date,tokens used\nu1@x.com,Maya,2026-10-03,9\n").await;
    assert_eq!(small.inserted, 1);
    assert_eq!(indexes().await, before, "the indexes after a small import");
    // What the indexes serve: one person's charges, and one product's.
    let u1: Vec<(i64,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT c.tokens FROM usage_charges c JOIN team_users u ON u.id = c.user_id
         WHERE c.team_id = $1 AND u.email = 'u1@x.com' ORDER BY c.usage_date, c.tokens"
    )
    .bind(team.id)
    .fetch_all(p)
    .await
    .unwrap());
    assert_eq!(u1.len(), 21);
    assert_eq!(u1.iter().map(|t| t.0).sum::<i64>(), (1..=20).map(|d| d + 1).sum::<i64>() + 9);
    if matches!(db.pool(), tokenboard::db::Pool::Sqlite(_)) {
        let plan: Vec<(i64, i64, i64, String)> = on_db!(db, |p| sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT tokens FROM usage_charges WHERE team_id = 1 AND user_id = 2"
        )
        .fetch_all(p)
        .await
        .unwrap());
        assert!(plan.iter().any(|row| row.3.contains("usage_charges_by_user")), "{plan:?}");
    }
}

/// Charges are stored without foreign keys (migrations 0023 on PostgreSQL,
/// 0024 on SQLite): the import alone keeps their references. Two teams import the same people
/// and a product only the second file names, the first again with a
/// correction: every charge's user is of the charge's team and every
/// product exists.
async fn every_charge_refers_to_a_user_of_its_team_and_a_stored_product(db: &Db) {
    let (north, south) = (team(db, "north").await, team(db, "south").await);
    let file = "email,product,usage date,tokens used\na@x.com,Revit,2026-10-01,5\nb@x.com,Revit,2026-10-01,6\n";
    import(db, &north, file.as_bytes()).await;
    import(db, &south, format!("{file}a@x.com,Maya,2026-10-02,7\n").as_bytes()).await;
    import(
        db,
        &north,
        b"email,product,usage date,tokens used\na@x.com,Revit,2026-10-01,8\nc@x.com,Maya,2026-10-03,1\n",
    )
    .await;
    let counts: (i64, i64, i64) = on_db!(db, |p| sqlx::query_as(
        "SELECT COUNT(*),
                COUNT(*) FILTER (WHERE NOT EXISTS
                    (SELECT 1 FROM team_users u WHERE u.id = c.user_id AND u.team_id = c.team_id)),
                COUNT(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = c.product_id))
         FROM usage_charges c WHERE c.team_id IN ($1, $2)"
    )
    .bind(north.id)
    .bind(south.id)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(counts, (6, 0, 0), "(charges, of a user of another team or none, of no product)");
}

/// Texts that CSV must quote (commas, quotes, a backslash,
/// non-ASCII) and empty texts are stored as the file gave them: on
/// PostgreSQL the staged keys travel by `COPY … (FORMAT csv)`.
async fn awkward_texts_are_stored_as_the_file_gave_them(db: &Db) {
    let team = team(db, "texts").await;
    let file = "email,product,product version,feature,usage date,tokens used\n\
        a@x.com,Revit,\"2026, \"\"SP1\"\"\",\"one; two, three\",2026-10-01,5\n\
        a@x.com,Revit,,\\N,2026-10-02,6\n\
        a@x.com,Revit,Ünïcode ✓,,2026-10-03,7\n";
    let outcome = import(db, &team, file.as_bytes()).await;
    assert_eq!(outcome.inserted, 3);
    let stored = charges(db, team.id).await;
    let texts: Vec<(&str, &str)> = stored.iter().map(|c| (c.3.as_str(), c.4.as_str())).collect();
    assert_eq!(texts, [("one; two, three", "2026, \"SP1\""), ("\\N", ""), ("", "Ünïcode ✓")]);
}

db_tests!(
    every_charge_refers_to_a_user_of_its_team_and_a_stored_product,
    awkward_texts_are_stored_as_the_file_gave_them,
    a_bulk_import_leaves_the_charges_indexes_as_it_found_them,
    a_file_of_several_chunks_adds_up_across_them_and_a_late_bad_row_writes_nothing,
    the_bench_usage_file_reimports_as_it_was_and_loads_as_the_baseline,
    product_names_match_by_one_unicode_case_rule,
    a_data_row_starting_with_a_hash_is_data,
    an_erased_person_stays_erased_when_a_file_names_them_again,
    a_version_correction_moves_the_version_report,
    a_sparse_workbook_is_read_cell_by_cell,
    freshness_follows_imports_and_undo_and_alerts_once_when_stale,
    vendor_csv_with_semicolons_dotted_dates_and_repeated_service_uses,
    xlsx_from_openpyxl_and_rust_xlsxwriter_equal_their_csv_twin,
    ambiguous_slash_dates_are_rejected_naming_date_format,
    a_correction_replaces_tokens_and_reports_follow,
    undo_brings_every_report_back,
    the_patched_usage_index_equals_a_fresh_build,
    undo_after_a_partial_overwrite_keeps_the_later_import,
    undo_of_the_later_import_restores_the_earlier_one,
    the_history_records_who_what_and_when,
);
