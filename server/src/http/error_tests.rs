//! Your fault or ours (issue 11, item 7), against the real router on both
//! databases: a caller's mistake answers 4xx with its message and writes
//! nothing; a server fault answers 500 with a generic message and the
//! request id, and a failed export job stores no internal detail.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::access::audit::Actor;
use tokenboard::db::Pool;
use tokenboard::domain::model::Role;
use tokenboard::domain::range::{RangePreset, RangeQuery};
use tokenboard::domain::teams::Team;
use tokenboard::export::history::{self, NewExport};
use tokenboard::export::job::{self, ExportContext, ExportFiles};
use tokenboard::export::{ExportFormat, ExportParams, ExportReport, ExportStatus};
use tokenboard::report::privacy::PseudonymKey;
use tokenboard::{Db, access::accounts, access::auth, db_tests};

use super::tests::{config, team};
use crate::config::Config;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send_with(db: &Db, config: &Config, request: Request<Body>) -> Answer {
    let response = super::tests::router(db, config).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

async fn send(db: &Db, request: Request<Body>) -> Answer {
    send_with(db, &config(1 << 20), request).await
}

/// Team "mine" with a primary admin, logged in: the team, the admin's id and the cookie.
async fn primary_of_mine(db: &Db) -> (Team, i64, String) {
    let mine = team(db, "mine").await;
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Primary).await.unwrap();
    let answer = send(db, super::tests::login_request("me@example.com", "long%20enough", "/")).await;
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    (mine, admin.id, cookie)
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path).header(header::ACCEPT, "text/html").header(header::COOKIE, cookie).body(Body::empty()).unwrap()
}

fn server_fn_json(endpoint: &str, cookie: &str, request: serde_json::Value) -> Request<Body> {
    Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(serde_json::json!({ "request": request }).to_string()))
        .unwrap()
}

fn server_fn_form(endpoint: &str, cookie: &str, form: &str) -> Request<Body> {
    Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(form.to_owned()))
        .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

async fn execute(db: &Db, sql: &str) {
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
        Pool::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
    }
}

/// A bad custom range is the caller's mistake: 400 with what is wrong, from
/// a report's server function and from its one-click export alike, and no
/// export is recorded.
async fn a_bad_custom_range_answers_400_with_its_message(db: &Db) {
    let (_, _, cookie) = primary_of_mine(db).await;
    let cases = [("2026-13-40", "2026-01-01", "is not a date"), ("2026-03-01", "2026-01-01", "is after")];
    for (from, to, says) in cases {
        let range = serde_json::json!({ "range": "custom", "from": from, "to": to });
        let answer =
            send(db, server_fn_json("products", &cookie, serde_json::json!({ "team": "mine", "range": range }))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{from}..{to}: {}", answer.body);
        assert!(answer.body.contains("BadRequest") && answer.body.contains(says), "{}", answer.body);

        let url = format!("/teams/mine/export/by-product.csv?range=custom&from={from}&to={to}");
        let answer = send(db, get(&url, &cookie)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{url}: {}", answer.body);
        assert_eq!(answer.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert!(answer.body.contains(says), "{url}: {}", answer.body);
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM exports").await, 0, "nothing was recorded");
    assert_eq!(count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'exported'").await, 0);
}

/// A server fault answers 500 with the request id, not its detail: here the
/// export directory is a file, so writing the workbook fails.
async fn a_failed_one_click_export_answers_500_with_the_request_id(db: &Db) {
    let (_, _, cookie) = primary_of_mine(db).await;
    let data = tempfile::tempdir().unwrap();
    let config = Config { data_dir: data.path().to_owned(), ..config(1 << 20) };
    let app = super::tests::router(db, &config);
    std::fs::remove_dir_all(config.exports_dir()).unwrap();
    std::fs::write(config.exports_dir(), "not a directory").unwrap();
    let response = app.oneshot(get("/teams/mine/export/summary.xlsx?range=30d", &cookie)).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), format!("the export failed on the server (request id {id})"));
}

/// A recorded export whose stored query this version cannot read is a
/// server fault: the job fails, and the history, the download and the
/// history's server function show no internal detail. So is a stored
/// report it does not know.
async fn a_corrupt_export_record_shows_no_internal_detail(db: &Db) {
    let (mine, admin_id, cookie) = primary_of_mine(db).await;
    let range = RangeQuery::preset(RangePreset::Days30).resolve(mine.today()).unwrap();
    let new = NewExport {
        team: &mine,
        actor: &Actor::Admin { id: admin_id, email: "me@example.com".into() },
        schedule_id: None,
        report: ExportReport::Summary,
        format: ExportFormat::Csv,
        params: &ExportParams::default(),
        range: &range,
    };
    let record = history::create(db, new, ExportStatus::Running, chrono::Utc::now()).await.unwrap();
    execute(db, &format!("UPDATE exports SET query = 'user=not-a-number' WHERE id = {}", record.id)).await;
    let record = history::find(db, record.id).await.unwrap().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ctx =
        ExportContext { db: db.clone(), files: ExportFiles::new(dir.path()).unwrap(), key: PseudonymKey::new(b"k") };
    let error = job::run(&ctx, &record, None).await.unwrap_err();
    assert!(!error.is_user_error(), "{error}");
    let failed = history::find(db, record.id).await.unwrap().unwrap();
    assert_eq!(failed.status, ExportStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("the export failed on the server"));

    let answer = send(db, get(&format!("/teams/mine/exports/{}/download", record.id), &cookie)).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.body, "this export failed: the export failed on the server");

    execute(db, &format!("UPDATE exports SET report = 'exploded' WHERE id = {}", record.id)).await;
    let answer = send(db, server_fn_json("exports", &cookie, serde_json::json!({ "team": "mine" }))).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", answer.body);
    let id = answer.headers["x-request-id"].to_str().unwrap();
    assert_eq!(answer.body, format!(r#"{{"Internal":"{id}"}}"#));
}

/// Inviting an admin with an address that is none is the inviter's
/// mistake: 400 naming the address, and no account, role, mail or audit row.
async fn inviting_an_admin_with_a_bad_address_answers_400_and_creates_nothing(db: &Db) {
    let (_, _, cookie) = primary_of_mine(db).await;
    let tables = ["admins", "team_admins", "mail_outbox", "set_password_tokens", "audit_log"];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    // Form-encoded; the last three passed the old check, and then failed at
    // every delivery (the mailer's parser refuses them).
    let addresses = ["nobody", "a%40b", "a%20b%40example.com", "a%40example..com", ".a%40example.com", "a%40-x.com"];
    for email in addresses {
        let form = format!("team=mine&email={email}&role=secondary");
        let answer = send(db, server_fn_form("admin_invite", &cookie, &form)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{email}: {}", answer.body);
        assert!(answer.body.contains("is not an e-mail address"), "{email}: {}", answer.body);
    }
    let mut after = Vec::new();
    for table in tables {
        after.push(count(db, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    assert_eq!(after, before, "{tables:?}");
}

/// The one address rule (invitations, schedules, alerts) accepts only what
/// the mailer can parse, so an accepted address is one it can deliver to.
/// (It is stricter in one way: a domain needs a dot.)
#[test]
fn the_address_rule_accepts_only_what_the_mailer_parses() {
    let good = ["ann@example.com", "ann.lee+tokens@mail.example.com", "o'brien@example.ie", "jürgen@bücher.de"];
    let bad = [
        "a@example..com",
        ".a@example.com",
        "a.@example.com",
        "a..b@example.com",
        "a@-x.com",
        "a@x-.com",
        "\"a\"@example.com",
        "a(b)@example.com",
        "a b@example.com",
        "a@b@example.com",
        "a@b",
    ];
    for address in good {
        assert!(tokenboard::notify::mail::is_email(address), "{address}");
        assert!(address.parse::<lettre::Address>().is_ok(), "{address}");
    }
    for address in bad {
        assert!(!tokenboard::notify::mail::is_email(address), "{address}");
    }
}

db_tests!(
    a_bad_custom_range_answers_400_with_its_message,
    a_failed_one_click_export_answers_500_with_the_request_id,
    a_corrupt_export_record_shows_no_internal_detail,
    inviting_an_admin_with_a_bad_address_answers_400_and_creates_nothing,
);
