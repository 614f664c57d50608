//! Bounds against the real router (issue 10, items 8 and 9): custom ranges
//! outside 2000-01-01 … today + 5 years answer 400 on every page and export
//! (never a panic), one-click exports over the cap answer 429 and write
//! nothing, and the audit page's plain links reach the oldest row.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Days;
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::access::audit::{self, Actor, AuditAction};
use tokenboard::access::{accounts, auth};
use tokenboard::db::Pool;
use tokenboard::domain::model::Role;
use tokenboard::domain::teams::Team;
use tokenboard::ingest::import::{ChargeRow, store_charges};
use tokenboard::{Db, db_tests};

use super::tests::{config, router, team};

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path).header(header::ACCEPT, "text/html").header(header::COOKIE, cookie).body(Body::empty()).unwrap()
}

async fn text(response: axum::response::Response) -> String {
    String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned()
}

/// A logged-in admin of `team` with `role`: the session cookie.
async fn login(db: &Db, team: &Team, email: &str, role: Role) -> String {
    let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
    auth::grant_role(db, team.id, admin.id, role).await.unwrap();
    let form = format!("email={email}&password=long%20enough&next=/");
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let response = router(db, &config(4096)).oneshot(request).await.unwrap();
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn count(db: &Db, sql: &str, team_id: i64) -> i64 {
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(team_id).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).bind(team_id).fetch_one(p).await.unwrap(),
    }
}

async fn custom_ranges_outside_the_bounds_answer_400_everywhere(db: &Db) {
    let t = team(db, "mine").await;
    let cookie = login(db, &t, "me@example.com", Role::Primary).await;
    let csv = format!("email,product,usage date,tokens used\na@x.com,Revit,{},10\n", t.today());
    tokenboard::ingest::import::import_usage_csv(db, &t, csv.as_bytes()).await.unwrap();
    let user = count(db, "SELECT id FROM team_users WHERE team_id = $1", t.id).await;
    let later = t.today() + Days::new(5 * 366);
    let ranges = [
        "from=1999-12-31&to=2000-01-31".to_owned(),
        format!("from=2026-01-01&to={later}"),
        "from=-262000-01-01&to=2026-01-01".to_owned(),
        "from=-262143-01-01&to=-262143-01-01".to_owned(),
        "from=%2B262000-01-01&to=%2B262000-01-31".to_owned(),
        "from=%2B262142-12-31&to=%2B262142-12-31".to_owned(),
    ];
    let paths = [
        "/teams/mine/summary".to_owned(),
        "/teams/mine/products".to_owned(),
        "/teams/mine/products/revit".to_owned(),
        "/teams/mine/users".to_owned(),
        format!("/teams/mine/users/{user}"),
        "/teams/mine/export/summary.csv".to_owned(),
        "/teams/mine/export/token-usage.xlsx".to_owned(),
    ];
    for range in &ranges {
        for path in &paths {
            let url = format!("{path}?range=custom&{range}");
            let response = router(db, &config(4096)).oneshot(get(&url, &cookie)).await.unwrap();
            let status = response.status();
            let body = text(response).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
            assert!(body.contains("outside the dates Tokenboard shows") || body.contains("is not a date"), "{url}");
        }
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM exports WHERE team_id = $1", t.id).await, 0);
}

async fn one_click_exports_over_the_cap_answer_429_and_write_nothing(db: &Db) {
    use tokenboard::export::history::MAX_ACTIVE_PER_ADMIN;
    let t = team(db, "mine").await;
    let cookie = login(db, &t, "me@example.com", Role::Secondary).await;
    // 30,000 charges: far more than the response's buffers hold, so an
    // export whose body nobody reads stays running.
    let today = t.today();
    let rows: Vec<ChargeRow> = (0..400)
        .flat_map(|user| {
            (1..=75).map(move |back| ChargeRow {
                email: format!("user{user}@x.com"),
                first_name: "First".into(),
                last_name: "Last".into(),
                product: "Revit".into(),
                product_version: "2026".into(),
                feature: "Desktop".into(),
                usage_date: today - Days::new(back),
                tokens: 10,
            })
        })
        .collect();
    store_charges(db, t.id, &rows).await.unwrap();

    let app = router(db, &config(4096));
    let url = "/teams/mine/export/token-usage.csv?range=3m";
    let responses = futures_util::future::join_all((0..20).map(|_| app.clone().oneshot(get(url, &cookie)))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.as_ref().unwrap().status()).collect();
    let started = statuses.iter().filter(|s| **s == StatusCode::OK).count() as i64;
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count() as i64;
    assert_eq!((started, refused), (MAX_ACTIVE_PER_ADMIN, 20 - MAX_ACTIVE_PER_ADMIN), "{statuses:?}");
    let refusal = responses.into_iter().map(Result::unwrap).find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(text(refusal.unwrap()).await, "you have 2 exports running; wait for one to finish");
    assert_eq!(count(db, "SELECT COUNT(*) FROM exports WHERE team_id = $1", t.id).await, MAX_ACTIVE_PER_ADMIN);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE team_id = $1 AND action = 'exported'";
    assert_eq!(count(db, audited, t.id).await, MAX_ACTIVE_PER_ADMIN, "a refused export is not audited");
}

async fn the_audit_page_links_reach_the_oldest_row(db: &Db) {
    let t = team(db, "mine").await;
    for i in 0..1200 {
        audit::record(db, Some(t.id), &Actor::CommandLine, AuditAction::SettingChanged, &format!("row {i}."))
            .await
            .unwrap();
    }
    let cookie = login(db, &t, "lead@example.com", Role::Primary).await;
    let app = router(db, &config(4096));
    let next_link = |html: &str| {
        let start = html.find(r#"rel="next" href=""#)? + r#"rel="next" href=""#.len();
        Some(html[start..start + html[start..].find('"')?].to_owned())
    };
    let mut url = "/teams/mine/audit".to_owned();
    let mut pages = 0;
    let last = loop {
        let response = app.clone().oneshot(get(&url, &cookie)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let html = text(response).await;
        pages += 1;
        match next_link(&html) {
            Some(next) => url = next,
            None => break html,
        }
    };
    assert_eq!(pages, 13, "1,201 rows (with the login) at 100 a page");
    assert!(last.contains("row 0.") && last.contains(r#"rel="prev""#), "the last page holds the oldest row");
}

db_tests!(
    custom_ranges_outside_the_bounds_answer_400_everywhere,
    one_click_exports_over_the_cap_answer_429_and_write_nothing,
    the_audit_page_links_reach_the_oldest_row,
);
