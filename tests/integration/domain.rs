//! The token domain against a real database, run on SQLite and PostgreSQL:
//! consumption order, balances, rates, import validation and idempotency,
//! the Summary's numbers against hand-written SQL, and access control.

use chrono::{Days, NaiveDate};
use tokenboard::Db;
use tokenboard::access::auth::{self, AccessError};
use tokenboard::access::{accounts, api_keys, sessions};
use tokenboard::domain::model::{Balance, Role, TokenEventKind};
use tokenboard::domain::packs::{add_pack, ledger};
use tokenboard::domain::range::{Granularity, RangePreset, RangeQuery};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::domain::values::MAX_TOKENS_PER_CHARGE;
use tokenboard::ingest::demo::{self, DemoOptions};
use tokenboard::ingest::import::{ImportError, import_usage_csv};
use tokenboard::report::Metric;
use tokenboard::report::params::{TableOrder, UserTableQuery};
use tokenboard::report::screens;
use tokenboard::report::summary::summary;
use tokenboard::{db_tests, on_db};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "Europe/Berlin".into() })
        .await
        .unwrap()
}

async fn import(db: &Db, team: &Team, csv: &str) -> tokenboard::ingest::import::ImportOutcome {
    import_usage_csv(db, team, csv.as_bytes()).await.unwrap()
}

/// Runs a scalar SQL query with the team id as `$1`.
/// The team's users as its screens show them (names only when the team shows names).
fn names_shown(team: &Team) -> tokenboard::report::privacy::Privacy {
    tokenboard::report::privacy::Privacy::new(&tokenboard::report::privacy::PseudonymKey::new(b"domain tests"), team)
}

async fn scalar(db: &Db, sql: &str, team_id: i64) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).bind(team_id).fetch_one(p).await.unwrap())
}

/// Runs a scalar SQL query with the team id as `$1` and a date range as `$2`, `$3`.
async fn scalar_between(db: &Db, sql: &str, team_id: i64, from: NaiveDate, to: NaiveDate) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).bind(team_id).bind(from).bind(to).fetch_one(p).await.unwrap())
}

const HEADER: &str = "Team,First name,Last name,Email,Product,Product version,Feature,Usage date,Tokens used\n";

async fn consumption_order_with_equal_expiries_and_spanning_charges(db: &Db) {
    let t = team(db, "design").await;
    let big = add_pack(db, t.id, 500, d("2026-01-01"), None).await.unwrap();
    let small = add_pack(db, t.id, 20, d("2026-01-01"), None).await.unwrap();
    let csv = format!(
        "{HEADER}design,Ann,Lee,ann@x.com,Revit,2026,Desktop,2026-02-02,10\n\
         design,Bob,Ray,bob@x.com,Revit,2026,Desktop,2026-02-02,10\n\
         design,Ann,Lee,ann@x.com,AutoCAD,2026,Desktop,2026-02-03,7\n"
    );
    import(db, &t, &csv).await;
    let l = ledger(db, t.id, d("2026-03-01")).await.unwrap();
    // 20 tokens on Feb 2 empty the small pack; the 7 of Feb 3 spill into the big one.
    assert_eq!(l.pack(small.id).unwrap().used, 20);
    assert_eq!(l.pack(big.id).unwrap().used, 7);
    assert_eq!(l.balance(), Balance { available: 493, used: 27, total: 520, overdraft: 0 });
}

async fn a_charge_larger_than_the_first_pack_spans_two_packs(db: &Db) {
    let t = team(db, "design").await;
    let first = add_pack(db, t.id, 30, d("2026-01-01"), Some(d("2026-12-01"))).await.unwrap();
    let second = add_pack(db, t.id, 100, d("2026-01-01"), None).await.unwrap();
    import(db, &t, &format!("{HEADER}design,A,B,a@x.com,Flame,2027,Desktop,2026-03-01,45\n")).await;
    let l = ledger(db, t.id, d("2026-03-01")).await.unwrap();
    assert_eq!((l.pack(first.id).unwrap().used, l.pack(second.id).unwrap().used), (30, 15));
}

async fn expired_pack_mid_range_is_reported_but_not_in_the_balance(db: &Db) {
    let t = team(db, "design").await;
    let old = add_pack(db, t.id, 100, d("2025-03-01"), None).await.unwrap(); // expires 2026-03-01
    add_pack(db, t.id, 1000, d("2026-02-01"), None).await.unwrap();
    let csv = format!(
        "{HEADER}design,A,B,a@x.com,Revit,2026,Desktop,2026-02-10,40\n\
         design,A,B,a@x.com,Revit,2026,Desktop,2026-03-10,25\n"
    );
    import(db, &t, &csv).await;
    let today = d("2026-03-20");
    let l = ledger(db, t.id, today).await.unwrap();
    assert_eq!(l.pack(old.id).unwrap().expired_unused, 60);
    assert_eq!(l.balance(), Balance { available: 975, used: 25, total: 1000, overdraft: 0 });
    let s = summary(db, &t, Role::Primary, today, &RangeQuery::custom(d("2026-02-01"), today), Default::default())
        .await
        .unwrap();
    assert_eq!(s.range_tokens, 65, "usage from expired packs stays in reports");
    assert!(
        s.events.iter().any(|e| e.kind == TokenEventKind::Expiration && e.amount == -60 && e.date == d("2026-03-01"))
    );
}

async fn zero_token_short_sessions_are_recorded_but_cost_nothing(db: &Db) {
    let t = team(db, "design").await;
    add_pack(db, t.id, 100, d("2026-01-01"), None).await.unwrap();
    let csv = format!(
        "{HEADER}design,A,B,a@x.com,Revit,2026,Desktop,2026-02-10,0\n\
         design,C,D,c@x.com,Revit,2026,Desktop,2026-02-10,10\n"
    );
    let outcome = import(db, &t, &csv).await;
    assert_eq!(outcome.inserted, 2);
    let s =
        summary(db, &t, Role::Primary, d("2026-02-10"), &RangeQuery::preset(RangePreset::Days7), Default::default())
            .await
            .unwrap();
    assert_eq!((s.range_tokens, s.range_users, s.tokens_today), (10, 2, 10));
    assert_eq!(s.balance.used, 10);
}

async fn demo_charges_the_rate_in_force_on_each_day(db: &Db) {
    let options = DemoOptions { teams: 1, users: 40, products: 10, days: 400, seed: 7, end_date: d("2026-11-27") };
    let report = demo::generate(db, &options).await.unwrap();
    assert!(report.charges > 500, "{report:?}");
    // Every desktop charge is 0 (short session) or exactly the rate in force that day.
    let wrong = "SELECT COUNT(*) FROM usage_charges c JOIN products p ON p.id = c.product_id
                 WHERE c.team_id = $1 AND p.kind = 'desktop' AND c.tokens <> 0 AND c.tokens <> (
                   SELECT r.tokens_per_day FROM product_rates r
                   WHERE r.product_id = c.product_id AND r.effective_from <= c.usage_date
                   ORDER BY r.effective_from DESC LIMIT 1)";
    let t = tokenboard::domain::teams::team(db, "design-team").await.unwrap();
    assert_eq!(scalar(db, wrong, t.id).await, 0);
    // The catalogue has a rate change inside the period, and both rates were charged.
    let rates_charged = "SELECT COUNT(DISTINCT c.tokens) FROM usage_charges c JOIN products p ON p.id = c.product_id
                         WHERE c.team_id = $1 AND p.slug = 'revit' AND c.tokens > 0";
    assert_eq!(scalar(db, rates_charged, t.id).await, 2);
    let short = "SELECT COUNT(*) FROM usage_charges WHERE team_id = $1 AND tokens = 0";
    assert!(scalar(db, short, t.id).await > 0, "some sessions are shorter than 5 minutes");
    // Some packs expired, one expires within 90 days.
    let l = ledger(db, t.id, options.end_date).await.unwrap();
    assert!(l.packs.iter().any(|p| p.pack.expires_on <= options.end_date));
    assert!(
        l.packs
            .iter()
            .any(|p| p.pack.expires_on > options.end_date && p.pack.expires_on <= options.end_date + Days::new(90))
    );
}

async fn bad_files_are_rejected_with_line_numbers_and_write_nothing(db: &Db) {
    let t = team(db, "design").await;
    let cases: [(&str, u64, &str); 6] = [
        ("a@x.com,Revit,2026-02-30,5", 3, "not a date"),
        ("a@x.com,Revit,2026-02-03,-5", 3, "negative tokens"),
        ("a@x.com,Revit,2026-02-03", 3, "expected 4 fields"),
        ("a@x.com,Revit,2026-02-03,5,extra", 3, "expected 4 fields"),
        ("not-an-email,Revit,2026-02-03,5", 3, "not an e-mail"),
        ("a@x.com,,2026-02-03,5", 3, "product is empty"),
    ];
    for (bad_row, line, reason) in cases {
        let csv = format!("email,product,usage date,tokens used\nok@x.com,Revit,2026-02-02,5\n{bad_row}\n");
        match import_usage_csv(db, &t, csv.as_bytes()).await {
            Err(ImportError::Rejected(errors, _)) => {
                assert_eq!(errors[0].line, line, "{bad_row}");
                assert!(errors[0].message.contains(reason), "{bad_row}: {}", errors[0].message);
            }
            other => panic!("{bad_row}: expected a rejection, got {other:?}"),
        }
    }
    let missing = "email,product,tokens used\na@x.com,Revit,5\n";
    assert!(
        matches!(import_usage_csv(db, &t, missing.as_bytes()).await, Err(ImportError::Rejected(e, _)) if e[0].line == 1)
    );
    let other_team = format!("{HEADER}elsewhere,A,B,a@x.com,Revit,2026,Desktop,2026-02-03,5\n");
    assert!(
        matches!(import_usage_csv(db, &t, other_team.as_bytes()).await, Err(ImportError::Rejected(e, _)) if e[0].message.contains("unknown team"))
    );
    let mut latin1 = b"email,product,usage date,tokens used\nok@x.com,Revit,2026-02-02,5\nb@x.com,Caf".to_vec();
    latin1.extend_from_slice(b"\xe9,2026-02-03,5\n");
    assert!(
        matches!(import_usage_csv(db, &t, &latin1).await, Err(ImportError::Rejected(e, _)) if e[0].line == 3 && e[0].message.contains("UTF-8"))
    );
    for table in ["usage_charges", "team_users", "daily_usage"] {
        assert_eq!(scalar(db, &format!("SELECT COUNT(*) FROM {table} WHERE team_id = $1"), t.id).await, 0, "{table}");
    }
    assert_eq!(scalar(db, "SELECT COUNT(*) + 0 * $1 FROM products", t.id).await, 0);
}

const NAMED: &str = "first name,last name,email,product,usage date,tokens used\n";

async fn values_out_of_bounds_are_rejected_with_their_line_and_write_nothing(db: &Db) {
    let t = team(db, "design").await;
    let (yesterday, tomorrow) = (t.today() - Days::new(1), t.today() + Days::new(1));
    let too_many = MAX_TOKENS_PER_CHARGE + 1;
    let (long_product, huge_date) = ("P".repeat(101), "9".repeat(5 << 20));
    let cases: [(String, &str); 8] = [
        ("Ann,Lee,a@x.com,Revit,1999-12-31,5".to_owned(), "before 2000-01-01"),
        (format!("Ann,Lee,a@x.com,Revit,{tomorrow},5"), "in the future"),
        (format!("Ann,Lee,a@x.com,Revit,{yesterday},{too_many}"), "above the maximum of 1000000000"),
        (format!("A\0nn,Lee,a@x.com,Revit,{yesterday},5"), "first name \"A\\0nn\" contains a control character"),
        (format!("Ann,Lee,a\u{7}@x.com,Revit,{yesterday},5"), "email \"a\\u{7}@x.com\" contains a control character"),
        (format!("Ann,Lee,a@x.com,{long_product},{yesterday},5"), "product \"PPPP"),
        (format!("Ann,Lee,a@x.com,Revit,{yesterday},5,"), "expected 6 fields"),
        (format!("Ann,Lee,a@x.com,Revit,{huge_date},5"), "is not a date"),
    ];
    for (bad_row, reason) in &cases {
        let csv = format!("{NAMED}Ok,Fine,ok@x.com,Revit,{yesterday},5\n{bad_row}\n");
        match import_usage_csv(db, &t, csv.as_bytes()).await {
            Err(ImportError::Rejected(errors, _)) => {
                let shown = &bad_row[..bad_row.len().min(60)];
                assert_eq!(errors[0].line, 3, "{shown}");
                assert!(errors[0].message.contains(reason), "{shown}: {}", errors[0].message);
                // A 5 MB bad value is quoted by its first 40 characters only.
                assert!(errors[0].message.len() < 200, "{shown}: {} bytes", errors[0].message.len());
                assert!(ImportError::Rejected(errors, None).to_string().len() < 1000);
            }
            other => panic!("{}: expected a rejection, got {other:?}", &bad_row[..40]),
        }
    }
    for table in ["usage_charges", "team_users", "daily_usage"] {
        assert_eq!(scalar(db, &format!("SELECT COUNT(*) FROM {table} WHERE team_id = $1"), t.id).await, 0, "{table}");
    }
    assert_eq!(
        scalar(db, "SELECT COUNT(*) + 0 * $1 FROM products", t.id).await,
        0,
        "the shared catalogue is untouched"
    );

    // Errors are counted, not all listed: a file of bad rows gives a short answer.
    let many = format!("{NAMED}{}", format!("Ann,Lee,a@x.com,Revit,{huge_date},5\n").repeat(3).repeat(100));
    match import_usage_csv(db, &t, many.as_bytes()).await {
        Err(ImportError::Rejected(errors, _)) => {
            assert!(errors.len() <= 51, "{}", errors.len());
            assert!(errors.last().unwrap().message.contains("further errors not shown"));
            assert!(serde_json::to_string(&errors).unwrap().len() < 20_000);
        }
        other => panic!("expected a rejection, got {:?}", other.map(|o| o.rows)),
    }
}

/// Runs `sql` with the team id as `$1` and a date as `$2` and `$3`.
async fn execute_between(db: &Db, sql: &str, team_id: i64, from: NaiveDate, to: NaiveDate) {
    on_db!(db, |p| drop(sqlx::query(sql).bind(team_id).bind(from).bind(to).execute(p).await.unwrap()))
}

async fn a_row_before_2000_written_by_hand_breaks_no_report(db: &Db) {
    let t = team(db, "design").await;
    let today = t.today();
    add_pack(db, t.id, 10_000, today - Days::new(30), None).await.unwrap();
    import(db, &t, &format!("{NAMED}Ann,Lee,ann@x.com,Revit,{},7\n", today - Days::new(3))).await;
    let user = scalar(db, "SELECT id FROM team_users WHERE team_id = $1", t.id).await;
    // As an older release's import accepted it: the charge, its rollups, a new data version.
    let old = d("1800-01-01");
    let insert =
        "INSERT INTO usage_charges (team_id, user_id, product_id, product_version, feature, usage_date, tokens)
        SELECT team_id, user_id, product_id, product_version, feature, $2, 1000 FROM usage_charges
        WHERE team_id = $1 AND usage_date <> $3";
    execute_between(db, insert, t.id, old, old).await;
    for sql in tokenboard::report::rollups::REFRESH_STATEMENTS {
        execute_between(db, sql, t.id, old, old).await;
    }
    // (No `usage_changes` row, as an older release: indexes are rebuilt whole.)
    scalar(db, "UPDATE teams SET data_version = data_version + 1 WHERE id = $1 RETURNING data_version", t.id).await;
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM usage_charges WHERE team_id = $1", t.id).await, 2);

    for preset in [RangePreset::Days7, RangePreset::Months12] {
        let s = summary(db, &t, Role::Primary, today, &RangeQuery::preset(preset), Default::default()).await.unwrap();
        assert_eq!(s.range_tokens, 7, "{preset:?}: the old row never shows in a valid range");
    }
    let range = RangeQuery::preset(RangePreset::Months12).resolve(today).unwrap();
    let users =
        screens::users(db, &t, range, UserTableQuery { page: 1, ..UserTableQuery::default() }, &names_shown(&t))
            .await
            .unwrap();
    assert_eq!(users.users.total(Metric::Tokens).count(), 7);
    let products = screens::products(db, &t, range, TableOrder::default()).await.unwrap();
    assert_eq!(products.products.total(Metric::Tokens).count(), 7);
    screens::user_detail(db, &t, range, user, &names_shown(&t)).await.unwrap();
    screens::product_detail(db, &t, range, "revit", &names_shown(&t), false).await.unwrap();
    screens::team_balance(db, &t, Role::Primary).await.unwrap();
    screens::forecast(db, &t).await.unwrap();
}

async fn charges_at_the_maximum_sum_exactly_in_every_view(db: &Db) {
    let t = team(db, "design").await;
    let today = t.today();
    let max = MAX_TOKENS_PER_CHARGE;
    let mut csv = NAMED.to_owned();
    for back in 1..=6 {
        csv.push_str(&format!("Ann,Lee,ann@x.com,Revit,{},{max}\n", today - Days::new(back)));
    }
    csv.push_str(&format!("Bob,Ray,bob@x.com,Revit,{},{max}\n", today - Days::new(1)));
    assert_eq!(import(db, &t, &csv).await.inserted, 7);

    let s = summary(db, &t, Role::Primary, today, &RangeQuery::preset(RangePreset::Days30), Default::default())
        .await
        .unwrap();
    assert_eq!(s.range_tokens, 7 * max);
    assert_eq!(s.series.iter().map(|p| p.tokens).sum::<i64>(), 7 * max);
    let range = RangeQuery::preset(RangePreset::Days30).resolve(today).unwrap();
    let users =
        screens::users(db, &t, range, UserTableQuery { page: 1, ..UserTableQuery::default() }, &names_shown(&t))
            .await
            .unwrap();
    let tokens = users.users.metric_index(Metric::Tokens).unwrap();
    let by_user: Vec<i64> = users.users.rows.iter().map(|r| r.values[tokens].count()).collect();
    assert_eq!(by_user, vec![6 * max, max], "Ann's six charges pass u32::MAX and stay exact");
    assert_eq!(users.users.total(Metric::Tokens).count(), 7 * max);
    let products = screens::products(db, &t, range, TableOrder::default()).await.unwrap();
    assert_eq!(products.products.total(Metric::Tokens).count(), 7 * max);
    let detail = screens::user_detail(db, &t, range, users_first_id(&users), &names_shown(&t)).await.unwrap();
    assert_eq!(detail.tokens, 6 * max);
}

fn users_first_id(users: &tokenboard::report::views::UsersView) -> i64 {
    match &users.users.rows[0].keys[0] {
        tokenboard::report::DimensionValue::User { id, .. } => *id,
        other => panic!("{other:?}"),
    }
}

/// Two rows of one key in a file are two uses that day: they add up
/// (DESIGN §5); importing the same file again changes nothing.
async fn reimporting_the_same_file_changes_nothing(db: &Db) {
    let t = team(db, "design").await;
    let csv = format!(
        "{HEADER}design,A,B,a@x.com,Revit,2026,Desktop,2026-02-10,10\n\
         design,A,B,a@x.com,Revit,2027,Desktop,2026-02-10,10\n\
         design,C,D,c@x.com,Maya,2026,Desktop,2026-02-11,10\n"
    );
    let first = import(db, &t, &csv).await;
    assert_eq!((first.rows, first.inserted, first.updated, first.unchanged, first.new_users), (3, 2, 0, 0, 2));
    assert_eq!(first.new_products, vec!["Revit".to_string(), "Maya".to_string()]);
    let sum = "SELECT CAST(SUM(tokens) AS BIGINT) FROM daily_usage WHERE team_id = $1";
    let before = scalar(db, sum, t.id).await;
    let second = import(db, &t, &csv).await;
    assert_eq!((second.inserted, second.updated, second.unchanged, second.new_users), (0, 0, 2, 0));
    assert!(second.new_products.is_empty());
    assert_eq!(scalar(db, sum, t.id).await, before);
    assert_eq!(before, 30, "the two Revit rows of 2026-02-10 add up to 20");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM usage_charges WHERE team_id = $1", t.id).await, 2);
}

async fn summary_matches_hand_written_sql_over_raw_charges(db: &Db) {
    let end = d("2026-11-27");
    let options = DemoOptions { teams: 2, users: 120, products: 12, days: 200, seed: 3, end_date: end };
    demo::generate(db, &options).await.unwrap();
    let t = tokenboard::domain::teams::team(db, "engineering").await.unwrap();
    let queries = [
        RangeQuery::preset(RangePreset::Days7),
        RangeQuery::preset(RangePreset::Days30),
        RangeQuery::preset(RangePreset::Months3),
        RangeQuery::preset(RangePreset::Months6).with_granularity(Granularity::Day),
        RangeQuery::preset(RangePreset::Months6).with_granularity(Granularity::Month),
        RangeQuery::custom(d("2026-06-03"), d("2026-08-17")),
    ];
    for q in queries {
        let s = summary(db, &t, Role::Secondary, end, &q, Default::default()).await.unwrap();
        let (from, to) = (s.range.from, s.range.to);
        let where_ = "FROM usage_charges WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3";
        let tokens =
            scalar_between(db, &format!("SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) {where_}"), t.id, from, to)
                .await;
        let users = scalar_between(db, &format!("SELECT COUNT(DISTINCT user_id) {where_}"), t.id, from, to).await;
        let products = scalar_between(db, &format!("SELECT COUNT(DISTINCT product_id) {where_}"), t.id, from, to).await;
        assert!(tokens > 0);
        assert_eq!((s.range_tokens, s.range_users, s.range_products), (tokens, users, products), "{}", s.range.label);
        assert_eq!(s.series.iter().map(|p| p.tokens).sum::<i64>(), tokens, "the chart sums to the total");
        assert_eq!(s.series.first().unwrap().start, from);
        assert_eq!(s.series.last().unwrap().end, to);
        let (prev_from, prev_to) =
            (from - chrono::Days::new((to - from).num_days() as u64 + 1), from - chrono::Days::new(1));
        let prev_users =
            scalar_between(db, &format!("SELECT COUNT(DISTINCT user_id) {where_}"), t.id, prev_from, prev_to).await;
        let prev_tokens = scalar_between(
            db,
            &format!("SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) {where_}"),
            t.id,
            prev_from,
            prev_to,
        )
        .await;
        assert_eq!(
            (s.previous_range_users, s.previous_range_tokens),
            (prev_users, prev_tokens),
            "{}: previous period",
            s.range.label
        );
        let today =
            scalar_between(db, &format!("SELECT CAST(COALESCE(SUM(tokens), 0) AS BIGINT) {where_}"), t.id, end, end)
                .await;
        assert_eq!(s.tokens_today, today);
    }
}

async fn authorisation_sees_only_teams_with_a_role(db: &Db) {
    let a = team(db, "alpha").await;
    let b = team(db, "beta").await;
    let admin = accounts::upsert_admin(db, "Boss@Example.com", "correct horse").await.unwrap();
    auth::grant_role(db, a.id, admin.id, Role::Secondary).await.unwrap();
    assert!(accounts::verify_login(db, "boss@example.com", "wrong password").await.unwrap().is_none());
    let me = accounts::verify_login(db, "boss@example.com", "correct horse").await.unwrap().unwrap();
    let policy = sessions::SessionPolicy::default();
    let token = sessions::create_session(db, me.id, &policy).await.unwrap();
    let me = sessions::session_admin(db, &token, &policy, chrono::Utc::now()).await.unwrap().unwrap();

    assert_eq!(auth::authorize(db, Some(&me), "alpha", Role::Secondary).await.unwrap().team.id, a.id);
    assert!(matches!(auth::authorize(db, Some(&me), "alpha", Role::Primary).await, Err(AccessError::Forbidden(_))));
    assert!(matches!(auth::authorize(db, Some(&me), "beta", Role::Secondary).await, Err(AccessError::NotFound)));
    assert!(matches!(auth::authorize(db, Some(&me), "nope", Role::Secondary).await, Err(AccessError::NotFound)));
    assert!(matches!(auth::authorize(db, None, "alpha", Role::Secondary).await, Err(AccessError::Unauthenticated)));
    assert_eq!(auth::teams_of(db, me.id).await.unwrap().len(), 1);

    sessions::end_session(db, &token).await.unwrap();
    assert!(sessions::session_admin(db, &token, &policy, chrono::Utc::now()).await.unwrap().is_none());

    let key = api_keys::create_api_key(db, b.id, "ci").await.unwrap();
    assert_eq!(api_keys::authorize_api_key(db, &key, "beta").await.unwrap().id, b.id);
    assert!(matches!(api_keys::authorize_api_key(db, &key, "alpha").await, Err(AccessError::NotFound)));
    assert!(matches!(api_keys::authorize_api_key(db, "tb_forged", "beta").await, Err(AccessError::NotFound)));
}

db_tests!(
    consumption_order_with_equal_expiries_and_spanning_charges,
    a_charge_larger_than_the_first_pack_spans_two_packs,
    expired_pack_mid_range_is_reported_but_not_in_the_balance,
    zero_token_short_sessions_are_recorded_but_cost_nothing,
    demo_charges_the_rate_in_force_on_each_day,
    bad_files_are_rejected_with_line_numbers_and_write_nothing,
    reimporting_the_same_file_changes_nothing,
    values_out_of_bounds_are_rejected_with_their_line_and_write_nothing,
    a_row_before_2000_written_by_hand_breaks_no_report,
    charges_at_the_maximum_sum_exactly_in_every_view,
    summary_matches_hand_written_sql_over_raw_charges,
    authorisation_sees_only_teams_with_a_role,
);
