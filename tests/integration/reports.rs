//! The report pipeline against a real database, on SQLite and PostgreSQL:
//! every breakdown reconciles with the others and with raw charges, distinct
//! users are exact, pages are stable, rollups rebuild to what imports kept.

use chrono::NaiveDate;
use tokenboard::Db;
use tokenboard::domain::model::Role;
use tokenboard::domain::range::{Granularity, RangePreset, RangeQuery, ResolvedRange};
use tokenboard::domain::teams::{self, NewTeam, create_team};
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::ingest::import::import_usage_csv;
use tokenboard::report::plan::run;
use tokenboard::report::rollups;
use tokenboard::report::summary::summary;
use tokenboard::report::{Dimension, Direction, Filter, Metric, OrderBy, ReportQuery};
use tokenboard::{db_tests, on_db};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const END: &str = "2026-11-27";

/// A one-team demo ending on [`END`]: `users`, `products`, `days`, `seed`.
async fn one_demo_team(db: &Db, users: usize, products: usize, days: u32, seed: u64) -> teams::Team {
    let options = DemoOptions { teams: 1, users, products, days, seed, end_date: d(END) };
    demo::generate(db, &options).await.unwrap();
    teams::team(db, "design-team").await.unwrap()
}

async fn raw(db: &Db, sql: &str, team_id: i64, from: NaiveDate, to: NaiveDate) -> Vec<(String, i64)> {
    on_db!(db, |p| sqlx::query_as(sql).bind(team_id).bind(from).bind(to).fetch_all(p).await.unwrap())
}

fn ranges(end: NaiveDate) -> Vec<ResolvedRange> {
    let mut out = Vec::new();
    for preset in [RangePreset::Days7, RangePreset::Days30, RangePreset::Months3, RangePreset::Months12] {
        let base = RangeQuery::preset(preset).resolve(end).unwrap();
        for g in base.allowed_granularities() {
            out.push(RangeQuery::preset(preset).with_granularity(g).resolve(end).unwrap());
        }
    }
    out.push(RangeQuery::custom(d("2026-02-11"), d("2026-05-02")).resolve(end).unwrap());
    out
}

async fn breakdowns_reconcile_with_each_other_and_raw_charges(db: &Db) {
    let end = d(END);
    let team = one_demo_team(db, 150, 12, 400, 5).await;
    for range in ranges(end) {
        let label = format!("{} by {:?}", range.label(), range.granularity);
        let metrics = [Metric::Tokens, Metric::Users, Metric::UserDays, Metric::LastUsed];
        let by_product = run(db, &ReportQuery::totals(team.id, range, &metrics).by(Dimension::Product)).await.unwrap();
        let by_user =
            run(db, &ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::User)).await.unwrap();
        let over_time =
            run(db, &ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::Time)).await.unwrap();
        let totals = run(db, &ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Users, Metric::Products]))
            .await
            .unwrap();
        let s = summary(db, &team, Role::Primary, end, &RangeQuery::custom(range.from, range.to), Default::default())
            .await
            .unwrap();

        let raw_tokens = raw(
            db,
            "SELECT 'all', CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3",
            team.id,
            range.from,
            range.to,
        )
        .await[0]
            .1;
        assert!(raw_tokens > 0, "{label}");
        assert_eq!(by_product.sum(Metric::Tokens), raw_tokens, "{label}: Σ by product");
        assert_eq!(by_user.sum(Metric::Tokens), raw_tokens, "{label}: Σ by user");
        assert_eq!(over_time.sum(Metric::Tokens), raw_tokens, "{label}: Σ over time");
        assert_eq!(totals.total(Metric::Tokens).count(), raw_tokens, "{label}: total");
        assert_eq!(by_product.total(Metric::Tokens).count(), raw_tokens, "{label}: totals of a breakdown");
        assert_eq!(s.range_tokens, raw_tokens, "{label}: summary");
        assert_eq!(totals.total(Metric::Users).count(), s.range_users, "{label}: users");
        assert_eq!(totals.total(Metric::Users).count(), by_user.rows.len() as i64, "{label}: user rows");
        assert_eq!(totals.total(Metric::Products).count(), by_product.rows.len() as i64, "{label}: product rows");
        assert_eq!(over_time.rows.len(), range.buckets().len(), "{label}: gap-filled buckets");

        // Distinct users per product, exactly as COUNT(DISTINCT) over raw charges.
        let mut expected = raw(
            db,
            "SELECT p.slug, COUNT(DISTINCT c.user_id) FROM usage_charges c JOIN products p ON p.id = c.product_id
             WHERE c.team_id = $1 AND c.usage_date BETWEEN $2 AND $3 GROUP BY p.slug",
            team.id,
            range.from,
            range.to,
        )
        .await;
        expected.sort();
        let users = by_product.metric_index(Metric::Users).unwrap();
        let mut actual: Vec<(String, i64)> =
            by_product.rows.iter().map(|r| (r.keys[0].key(), r.values[users].count())).collect();
        actual.sort();
        assert_eq!(actual, expected, "{label}: users per product");
    }
}

async fn user_pages_are_stable_and_complete(db: &Db) {
    let end = d(END);
    let team = one_demo_team(db, 90, 8, 60, 9).await;
    let range = RangeQuery::preset(RangePreset::Days30).resolve(end).unwrap();
    let base = ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Products, Metric::UserDays])
        .by(Dimension::User)
        .order(OrderBy::Metric(Metric::Tokens), Direction::Desc);
    let everyone = run(db, &base).await.unwrap();
    let mut paged = Vec::new();
    for offset in (0..everyone.rows.len() as u32).step_by(20) {
        let page = run(db, &base.clone().page(20, offset)).await.unwrap();
        assert_eq!(page.total_rows, everyone.rows.len() as u64);
        paged.extend(page.rows);
    }
    assert_eq!(paged, everyone.rows, "pages concatenate to the full, stably ordered list");
    let tokens: Vec<i64> = everyone.rows.iter().map(|r| r.values[0].count()).collect();
    assert!(tokens.windows(2).all(|w| w[0] >= w[1]), "sorted by tokens, descending");

    // Search narrows the rows and the totals alike.
    let some_user = &everyone.rows[3].keys[0];
    let tokenboard::report::DimensionValue::User { email, .. } = some_user else { panic!() };
    let found = run(db, &base.clone().filter(Filter::UserSearch(email.to_uppercase()))).await.unwrap();
    assert_eq!(found.rows.len(), 1);
    assert_eq!(found.total(Metric::Tokens), found.rows[0].values[0]);
}

const FIXTURE: &str = "\
Email,First name,Last name,Product,Product version,Feature,Usage date,Tokens used
ann@x.com,Ann,Lee,Revit,2026,Desktop,2026-03-02,10
ann@x.com,Ann,Lee,Revit,2027,Desktop,2026-03-03,10
ann@x.com,Ann,Lee,AutoCAD,2026,Desktop,2026-03-03,7
bob@x.com,Bob,Ray,Revit,2026,Desktop,2026-03-03,10
bob@x.com,Bob,Ray,Revit,2026,Desktop,2026-03-10,0
cy@x.com,Cy,Kim,Cloud Rendering,,Cloud render,2026-03-16,4
";

async fn report_results_snapshot(db: &Db) {
    let team =
        create_team(db, &NewTeam { slug: "fx".into(), name: "Fixture".into(), time_zone: "UTC".into() }).await.unwrap();
    import_usage_csv(db, &team, FIXTURE.as_bytes()).await.unwrap();
    let range = RangeQuery::custom(d("2026-03-01"), d("2026-03-20"))
        .with_granularity(Granularity::Week)
        .resolve(d(END))
        .unwrap();
    let all = [Metric::Tokens, Metric::Charges, Metric::Users, Metric::UserDays, Metric::Products, Metric::LastUsed];
    let by_product = run(
        db,
        &ReportQuery::totals(team.id, range, &all)
            .by(Dimension::Product)
            .order(OrderBy::Metric(Metric::Tokens), Direction::Desc),
    )
    .await
    .unwrap();
    let by_week = run(db, &ReportQuery::totals(team.id, range, &all).by(Dimension::Time)).await.unwrap();
    let versions = run(
        db,
        &ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Charges])
            .by(Dimension::ProductVersion)
            .filter(Filter::Product("revit".into())),
    )
    .await
    .unwrap();
    // One snapshot for both backends: SQLite and PostgreSQL must agree to the letter.
    insta::assert_json_snapshot!("by_product", by_product);
    insta::assert_json_snapshot!("by_week", by_week);
    insta::assert_json_snapshot!("revit_versions", versions);
}

async fn rebuilt_rollups_equal_incremental_ones(db: &Db) {
    let end = d(END);
    demo::generate(db, &DemoOptions { teams: 2, users: 60, products: 6, days: 90, seed: 4, end_date: end })
        .await
        .unwrap();
    let team = teams::team(db, "engineering").await.unwrap();
    // Overlapping imports on top of the generated data.
    import_usage_csv(db, &team, "email,product,usage date,tokens used\nz@x.com,Revit,2026-11-01,10\n".as_bytes())
        .await
        .unwrap();
    // Corrections of stored charges of several products over three weeks (a
    // new version for some), and new keys beside them: an import refreshes
    // only the products it names, and the team's days from those.
    let stored = "SELECT u.email || ',' || p.name || ',' || CAST(c.usage_date AS TEXT) || ',' || c.feature, c.tokens
                  FROM usage_charges c JOIN team_users u ON u.id = c.user_id JOIN products p ON p.id = c.product_id
                  WHERE c.team_id = $1 AND c.usage_date BETWEEN $2 AND $3 ORDER BY c.id";
    let charges = raw(db, stored, team.id, d("2026-10-01"), d("2026-10-21")).await;
    let mut csv = String::from("email,product,usage date,feature,product version,tokens used\n");
    for (n, (key, tokens)) in charges.iter().enumerate().step_by(7) {
        let mut fields = key.splitn(4, ',');
        let (email, product, day, feature) =
            (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap());
        let version = if n % 2 == 0 { "2027" } else { "" };
        csv.push_str(&format!("{email},{product},{day},{feature},{version},{}\n", tokens + 3));
        csv.push_str(&format!("new.{n}@x.com,{product},{day},,,{}\n", 5 + n));
    }
    assert!(csv.lines().count() > 20, "{csv}");
    let outcome = import_usage_csv(db, &team, csv.as_bytes()).await.unwrap();
    assert!(outcome.updated > 10 && outcome.inserted > 10, "{outcome:?}");
    // Days that held no charges: their rollups are the staged keys' sums (a
    // key given twice adds up; two features of one person's day are one user-day).
    let fresh = "email,product,feature,usage date,tokens used\na@x.com,Revit,Desktop,2026-11-28,4\n\
                 a@x.com,Revit,Desktop,2026-11-28,6\na@x.com,Revit,Cloud,2026-11-28,1\nb@x.com,Revit,Desktop,2026-11-28,2\n\
                 b@x.com,Maya,Desktop,2026-11-30,2\n";
    let outcome = import_usage_csv(db, &team, fresh.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (4, 0), "{outcome:?}");
    let incremental = rollup_snapshot(db).await;
    assert!(incremental.len() > 100);
    assert_eq!(rollups::rebuild_all(db).await.unwrap(), 2);
    assert_eq!(rollup_snapshot(db).await, incremental);
}

/// Every rollup row of every team, as (key, packed figures).
async fn rollup_snapshot(db: &Db) -> Vec<(String, i64)> {
    let (from, to) = (d("2000-01-01"), d("2100-01-01"));
    let products = "SELECT CAST(team_id AS TEXT) || ' ' || CAST(usage_date AS TEXT) || ' ' || CAST(product_id AS TEXT), tokens * 1000000 + charges * 1000 + user_days
                    FROM daily_product_usage WHERE team_id >= $1 AND usage_date BETWEEN $2 AND $3 ORDER BY 1";
    let mut rows = raw(db, products, 0, from, to).await;
    let versions = "SELECT CAST(team_id AS TEXT) || ' ' || CAST(usage_date AS TEXT) || ' ' || CAST(product_id AS TEXT) || ' ' || product_version, tokens * 1000000 + charges
                    FROM daily_version_usage WHERE team_id >= $1 AND usage_date BETWEEN $2 AND $3 ORDER BY 1";
    rows.extend(raw(db, versions, 0, from, to).await);
    let daily = "SELECT CAST(team_id AS TEXT) || ' ' || CAST(usage_date AS TEXT), tokens * 1000000 + charges
                 FROM daily_usage WHERE team_id >= $1 AND usage_date BETWEEN $2 AND $3 ORDER BY 1";
    rows.extend(raw(db, daily, 0, from, to).await);
    rows
}

/// An import tallies the product and version rollups of days that held
/// none of the team's charges as it writes them (`ingest/import/keys.rs`;
/// on SQLite those days' keys go straight into the charges,
/// `new_days.rs`), and leaves a day it cannot vouch for to SQL. Whatever the
/// file's order, whether a key comes twice, and whether the file also
/// corrects stored days or skips over one, the rollups are what a rebuild
/// from the charges makes.
async fn rollups_of_new_days_equal_rebuilt_ones_whatever_the_files_order(db: &Db) {
    let team = one_demo_team(db, 30, 4, 20, 8).await;
    let check = async |what: &str| {
        let kept = rollup_snapshot(db).await;
        assert_eq!(rollups::rebuild_all(db).await.unwrap(), 1);
        assert_eq!(rollup_snapshot(db).await, kept, "{what}");
    };
    let header = "email,product,feature,usage date,tokens used\n";
    // New days: before the demo's twenty (no date may be in the future).
    let next = |n: u64| (d(END) - chrono::Days::new(20 + n)).to_string();
    let team_tokens = async || -> i64 {
        on_db!(db, |p| sqlx::query_scalar("SELECT CAST(SUM(tokens) AS BIGINT) FROM daily_usage WHERE team_id = $1")
            .bind(team.id)
            .fetch_one(p)
            .await
            .unwrap())
    };
    let demo_tokens = team_tokens().await;
    let tokens_of =
        |file: &str| file.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap()).sum::<i64>();

    // Chunks of 20,000 rows (20,000, 20,000 and 5,000), in person order
    // with two features each but the first person's one, so that the first
    // chunk ends between person 10,000's two features: the tally holds.
    let mut in_order = String::from(header);
    for n in 0..45_000 {
        let (person, feature) = ((n + 1) / 2, if n % 2 == 0 { "Cloud" } else { "Desktop" });
        in_order.push_str(&format!("p{person:05}@x.com,Revit,{feature},{},{}\n", next(1), 1 + n % 5));
    }
    let outcome = import_usage_csv(db, &team, in_order.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (45_000, 0), "{outcome:?}");
    let user_days: (i64, i64) = on_db!(db, |p| sqlx::query_as(
        "SELECT CAST(SUM(charges) AS BIGINT), CAST(SUM(user_days) AS BIGINT) FROM daily_product_usage
         WHERE team_id = $1 AND usage_date = $2"
    )
    .bind(team.id)
    .bind(d(&next(1)))
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(user_days, (45_000, 22_501), "two features of a person's day are one user-day");
    check("a file in person order").await;

    // A new day whose second chunk goes back to people of lower ids than
    // the first chunk's (counting them needs every person seen), beside a
    // day the tally keeps.
    let mut out_of_order = String::from(header);
    for n in 0..25_000 {
        let person = if n < 20_000 { n + 10_000 } else { n - 20_000 };
        out_of_order.push_str(&format!("p{person:05}@x.com,Revit,Desktop,{},3\n", next(2)));
    }
    out_of_order.push_str(&format!("p00000@x.com,Revit,Desktop,{},8\n", next(6)));
    let outcome = import_usage_csv(db, &team, out_of_order.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (25_001, 0), "{outcome:?}");
    check("a file whose people come back in a later chunk").await;

    // A key in the first chunk and the second (summed into one charge),
    // beside a day in person order.
    let mut twice = format!("{header}p00000@x.com,Revit,Desktop,{},1\n", next(5));
    for person in 0..20_000 {
        twice.push_str(&format!("p{person:05}@x.com,Maya,Desktop,{},2\n", next(7)));
    }
    twice.push_str(&format!("p00000@x.com,Revit,Desktop,{},2\n", next(5)));
    let outcome = import_usage_csv(db, &team, twice.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (20_001, 0), "{outcome:?}");
    check("a file with a key in two chunks").await;

    // One file: a correction of a stored day, a new key on it, a new day.
    // p00001's Desktop charge on the first new day holds 2 tokens (n = 1).
    let (first_new, third_new) = (next(1), next(3));
    let mixed = format!(
        "{header}p00001@x.com,Revit,Desktop,{first_new},999\nnew@x.com,Revit,Desktop,{first_new},4\n\
         new@x.com,Maya,Desktop,{third_new},6\n"
    );
    let outcome = import_usage_csv(db, &team, mixed.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (2, 1), "{outcome:?}");
    check("a file of a stored day and a new one").await;

    // New days around stored days the file does not name: those keep their rollups.
    let gap = format!(
        "{header}new@x.com,Revit,Desktop,{},5\nnew@x.com,Revit,Desktop,{},7\n",
        next(20),
        d(END) + chrono::Days::new(1)
    );
    let outcome = import_usage_csv(db, &team, gap.as_bytes()).await.unwrap();
    assert_eq!((outcome.inserted, outcome.updated), (2, 0), "{outcome:?}");
    check("new days around stored ones").await;

    let files = tokens_of(&in_order) + tokens_of(&out_of_order) + tokens_of(&twice) + 999 + 4 + 6 + 5 + 7;
    assert_eq!(team_tokens().await - demo_tokens, files - 2, "the files' tokens, one charge corrected");
}

async fn the_usage_index_answers_exactly_like_sql(db: &Db) {
    let end = d(END);
    let team = one_demo_team(db, 80, 10, 120, 21).await;
    // A second feature on a day already charged: the index must count the day once.
    import_usage_csv(
        db,
        &team,
        format!("email,product,feature,usage date,tokens used\nxtra@x.com,Revit,Desktop,{END},10\nxtra@x.com,Revit,Cloud,{END},3\n").as_bytes(),
    )
    .await
    .unwrap();
    let metrics = [Metric::Tokens, Metric::Users, Metric::Products, Metric::UserDays, Metric::LastUsed];
    for preset in [RangePreset::Days7, RangePreset::Months3] {
        let range = RangeQuery::preset(preset).resolve(end).unwrap();
        let queries = [
            ReportQuery::totals(team.id, range, &metrics),
            ReportQuery::totals(team.id, range, &metrics)
                .by(Dimension::Product)
                .order(OrderBy::Metric(Metric::Users), Direction::Desc),
            ReportQuery::totals(team.id, range, &metrics)
                .by(Dimension::User)
                .order(OrderBy::Metric(Metric::Tokens), Direction::Desc)
                .page(25, 25),
            ReportQuery::totals(team.id, range, &metrics)
                .by(Dimension::User)
                .order(OrderBy::Dimension(Dimension::User), Direction::Asc)
                .page(10, 0),
            ReportQuery::totals(team.id, range, &metrics)
                .by(Dimension::User)
                .filter(Filter::Product("revit".into()))
                .order(OrderBy::Metric(Metric::UserDays), Direction::Desc),
            ReportQuery::totals(team.id, range, &metrics).by(Dimension::User).filter(Filter::UserSearch("XTRA".into())),
        ];
        for q in queries {
            let indexed = run(db, &q).await.unwrap();
            let sql = tokenboard::report::sql::run_sql(db, &q).await.unwrap();
            assert_eq!(indexed.totals, sql.totals, "{q:?}");
            assert_eq!(indexed.total_rows, sql.total_rows, "{q:?}");
            if q.order.is_some_and(|o| matches!(o.by, OrderBy::Dimension(_))) || q.order.is_none() {
                // Name order and unordered rows: compare as sets (collations differ slightly).
                let mut a = indexed.rows.clone();
                let mut b = sql.rows.clone();
                if q.page.is_none() {
                    a.sort_by_key(|r| r.keys[0].key());
                    b.sort_by_key(|r| r.keys[0].key());
                    assert_eq!(a, b, "{q:?}");
                }
            } else {
                // Metric order: the same values in the same order (ties may differ in identity).
                let values = |r: &tokenboard::report::ReportResult| {
                    r.rows.iter().map(|row| row.values.clone()).collect::<Vec<_>>()
                };
                assert_eq!(values(&indexed), values(&sql), "{q:?}");
            }
        }
    }
    let xtra = run(
        db,
        &ReportQuery::totals(team.id, RangeQuery::preset(RangePreset::Days7).resolve(end).unwrap(), &metrics)
            .filter(Filter::UserSearch("xtra@".into())),
    )
    .await
    .unwrap();
    assert_eq!(xtra.totals[0], tokenboard::report::MetricValue::Count(13));
    assert_eq!(xtra.totals[3], tokenboard::report::MetricValue::Count(1), "two charges on one day are one day of use");

    // A new import is seen at once: the index follows data_version.
    let before = run(
        db,
        &ReportQuery::totals(team.id, RangeQuery::preset(RangePreset::Days7).resolve(end).unwrap(), &[Metric::Users]),
    )
    .await
    .unwrap();
    import_usage_csv(
        db,
        &team,
        format!("email,product,usage date,tokens used\nnewbie@x.com,Maya,{END},1\n").as_bytes(),
    )
    .await
    .unwrap();
    let after = run(
        db,
        &ReportQuery::totals(team.id, RangeQuery::preset(RangePreset::Days7).resolve(end).unwrap(), &[Metric::Users]),
    )
    .await
    .unwrap();
    assert_eq!(after.totals[0].count(), before.totals[0].count() + 1);
}

/// Summary's chart options reconcile: stacked by product, every bucket's
/// products add up to its bar (at most 8 named, the rest as "Other
/// products"); the previous period, bucket by bucket, adds up to the
/// previous period's total over raw charges; and a change is shown only
/// when the data reaches back over the whole previous period.
async fn summary_stacks_and_compares_what_raw_charges_say(db: &Db) {
    let end = d(END);
    let team = one_demo_team(db, 120, 12, 200, 9).await;
    let first: NaiveDate =
        on_db!(db, |p| sqlx::query_scalar("SELECT MIN(usage_date) FROM daily_usage").fetch_one(p).await.unwrap());
    for query in [
        RangeQuery::preset(RangePreset::Days30),
        RangeQuery::preset(RangePreset::Months3),
        RangeQuery::preset(RangePreset::Months3).with_granularity(Granularity::Month),
        RangeQuery::custom(d("2026-07-11"), d("2026-09-02")),
    ] {
        let both = tokenboard::report::summary::ChartOptions { stacked: true, compare: true };
        let s = summary(db, &team, Role::Primary, end, &query, both).await.unwrap();
        let label = format!("{:?}", query);
        let (_, named) = s.stacked.split_last().expect("the range has usage");
        assert!(s.stacked.len() <= 9, "{label}");
        assert!(named.iter().all(|p| !p.key.is_empty()), "only the last may be Other: {label}");
        for (i, bucket) in s.series.iter().enumerate() {
            let stacked: i64 = s.stacked.iter().map(|p| p.tokens[i]).sum();
            assert_eq!(stacked, bucket.tokens, "{label}: bucket {}", bucket.start);
        }
        let range = query.resolve(end).unwrap();
        let previous = range.previous_range();
        let raw_previous: i64 = on_db!(db, |p| {
            sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3"
        )
        .bind(team.id)
        .bind(previous.from)
        .bind(previous.to)
        .fetch_one(p)
        .await
        .unwrap()
        });
        assert_eq!(s.previous_range_tokens, raw_previous, "{label}");
        assert_eq!(s.previous_series.iter().map(|p| p.tokens).sum::<i64>(), raw_previous, "{label}");
        assert_eq!(s.previous_series.len(), s.series.len(), "{label}");
        for (now, before) in s.series.iter().zip(&s.previous_series) {
            assert_eq!((now.end - now.start), (before.end - before.start), "{label}: equal spans");
            assert_eq!(before.start, now.start - chrono::Days::new(range.days() as u64), "{label}");
        }
        assert_eq!(
            s.previous_covered,
            first <= previous.from,
            "{label}: first usage {first}, previous from {}",
            previous.from
        );
    }
    // The demo's 200 days reach back over 3 months' previous period, not over a year's.
    let year = summary(db, &team, Role::Primary, end, &RangeQuery::preset(RangePreset::Months12), Default::default())
        .await
        .unwrap();
    assert!(!year.previous_covered);
    assert!(year.stacked.is_empty(), "stacked only when asked for");
}

/// A screen about one person answers from that person's charges, read
/// once (`report::one_user`): every query it may ask answers exactly what
/// SQL answers — the same rows in the same order, gaps, pages and totals.
async fn one_persons_charges_answer_exactly_like_sql(db: &Db) {
    let end = d(END);
    let team = one_demo_team(db, 40, 8, 150, 5).await;
    // Two features and two versions of one product on one day, for one person.
    import_usage_csv(
        db,
        &team,
        format!(
            "email,product,product version,feature,usage date,tokens used\n\
             xtra@x.com,Revit,2025,Desktop,{END},10\nxtra@x.com,Revit,2026,Cloud,{END},3\n\
             xtra@x.com,Maya,,,2026-11-02,7\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let busiest = run(
        db,
        &ReportQuery::totals(
            team.id,
            RangeQuery::preset(RangePreset::Months3).resolve(end).unwrap(),
            &[Metric::Tokens],
        )
        .by(Dimension::User)
        .order(OrderBy::Metric(Metric::Tokens), Direction::Desc)
        .page(1, 0),
    )
    .await
    .unwrap();
    let tokenboard::report::DimensionValue::User { id: busiest, .. } = busiest.rows[0].keys[0] else { panic!() };
    let xtra: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT id FROM team_users WHERE email = 'xtra@x.com'")
        .fetch_one(p)
        .await
        .unwrap());
    let all = [Metric::Tokens, Metric::Charges, Metric::Users, Metric::UserDays, Metric::Products, Metric::LastUsed];
    let mut compared = 0;
    for user_id in [busiest, xtra] {
        let user = tokenboard::report::screens::user_ref(db, team.id, user_id).await.unwrap();
        for preset in [RangePreset::Days7, RangePreset::Months3, RangePreset::Months12] {
            let range = RangeQuery::preset(preset).resolve(end).unwrap();
            let charges =
                tokenboard::report::one_user::UserCharges::load(db, team.id, user.clone(), range).await.unwrap();
            let only = Filter::User(user_id);
            let mut queries = vec![
                ReportQuery::totals(team.id, range, &all).filter(only.clone()),
                ReportQuery::totals(team.id, range, &all)
                    .by(Dimension::Product)
                    .filter(only.clone())
                    .order(OrderBy::Metric(Metric::Tokens), Direction::Desc),
                ReportQuery::totals(team.id, range, &[Metric::Charges, Metric::LastUsed])
                    .by(Dimension::Product)
                    .by(Dimension::ProductVersion)
                    .filter(only.clone())
                    .order(OrderBy::Dimension(Dimension::Product), Direction::Asc),
                ReportQuery::totals(team.id, range, &[Metric::Tokens])
                    .by(Dimension::Feature)
                    .by(Dimension::User)
                    .filter(only.clone())
                    .order(OrderBy::Metric(Metric::Tokens), Direction::Asc)
                    .page(2, 1),
                ReportQuery::totals(team.id, range, &all)
                    .filter(only.clone())
                    .filter(Filter::Product("revit".into()))
                    .filter(Filter::ProductVersion("2026".into())),
                ReportQuery::totals(team.id, range, &[Metric::Tokens])
                    .filter(only.clone())
                    .filter(Filter::UserSearch("nobody-at-all".into())),
                // Two searches: both must find the person.
                ReportQuery::totals(team.id, range, &[Metric::Tokens, Metric::Users])
                    .filter(only.clone())
                    .filter(Filter::UserSearch(user.email.clone()))
                    .filter(Filter::UserSearch("nobody-at-all".into())),
                ReportQuery::totals(team.id, range, &all).filter(only.clone()).page(1, 1),
            ];
            for granularity in range.allowed_granularities() {
                let range = ResolvedRange { granularity, ..range };
                queries.push(
                    ReportQuery::totals(team.id, range, &[Metric::UserDays, Metric::Tokens])
                        .by(Dimension::Time)
                        .filter(only.clone())
                        .filter(Filter::Product("revit".into())),
                );
                queries.push(
                    ReportQuery::totals(team.id, range, &[Metric::Tokens])
                        .by(Dimension::Time)
                        .by(Dimension::Product)
                        .by(Dimension::ProductVersion)
                        .by(Dimension::Feature)
                        .filter(only.clone())
                        .order(OrderBy::Dimension(Dimension::Time), Direction::Desc),
                );
                queries.push(
                    ReportQuery::totals(team.id, range, &[Metric::Charges])
                        .by(Dimension::Time)
                        .filter(only.clone())
                        .order(OrderBy::Metric(Metric::Charges), Direction::Desc)
                        .page(3, 2),
                );
            }
            for q in queries {
                assert!(charges.answers(&q), "{q:?}");
                let sql = tokenboard::report::sql::run_sql(db, &q).await.unwrap();
                assert_eq!(charges.answer(&q), Some(sql), "{q:?}");
                compared += 1;
            }
        }
    }
    assert!(compared > 40);
    // A question about someone else is not this person's to answer.
    let range = RangeQuery::preset(RangePreset::Months3).resolve(end).unwrap();
    let user = tokenboard::report::screens::user_ref(db, team.id, xtra).await.unwrap();
    let charges = tokenboard::report::one_user::UserCharges::load(db, team.id, user, range).await.unwrap();
    let elsewhere = ReportQuery::totals(team.id, range, &all).filter(Filter::User(busiest));
    assert_eq!(charges.answer(&elsewhere), None);
}

db_tests!(
    one_persons_charges_answer_exactly_like_sql,
    summary_stacks_and_compares_what_raw_charges_say,
    breakdowns_reconcile_with_each_other_and_raw_charges,
    user_pages_are_stable_and_complete,
    report_results_snapshot,
    rebuilt_rollups_equal_incremental_ones,
    rollups_of_new_days_equal_rebuilt_ones_whatever_the_files_order,
    the_usage_index_answers_exactly_like_sql,
);
