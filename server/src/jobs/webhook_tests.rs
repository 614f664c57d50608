//! Webhook SSRF and delivery (issue 10 item 5) and owner-only files (item
//! 10), against real sockets and a real database on SQLite and PostgreSQL.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::Days;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use sha2::Sha256;
use tower::ServiceExt;

use tokenboard::access::audit::Actor;
use tokenboard::db::Pool;
use tokenboard::domain::model::Role;
use tokenboard::domain::teams::Team;
use tokenboard::notify::webhooks::WebhookPolicy;
use tokenboard::{Db, db_tests};

use super::Jobs;
use super::tests::admin_of;
use crate::http::tests::{config, router, team};

/// What a listener received: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A local HTTP listener answering every POST with `answer`.
async fn listener(answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static) -> (u16, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
        let (store, answer) = (store.clone(), answer.clone());
        async move {
            store.lock().unwrap().push((headers, body));
            answer()
        }
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (port, received)
}

fn ok() -> axum::response::Response {
    axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT)
}

fn jobs(db: &Db, data_dir: &Path, allow: &str) -> Jobs {
    let mut cfg = config(4096);
    cfg.data_dir = data_dir.to_owned();
    let state = crate::http::app_state(db.clone(), &cfg).unwrap();
    cfg.webhook_policy = WebhookPolicy::from_list(allow);
    Jobs::new(state.exports.clone(), &cfg, None)
}

/// Points the team's webhook at `url` (as the command line would: no save-time
/// check, so the send-time check is what is tested) and makes one crossing of
/// the 20% threshold. Returns the signing secret.
async fn cross_threshold(db: &Db, jobs: &Jobs, team: &Team, url: &str) -> String {
    let mut settings = tokenboard::access::settings::load(db, team.id).await.unwrap();
    settings.low_balance_percents = vec![20];
    settings.alert_webhook_url = Some(url.to_owned());
    let saved = tokenboard::access::settings::save(db, &jobs.exports.files, team, &Actor::CommandLine, &settings)
        .await
        .unwrap();
    let today = team.today();
    tokenboard::domain::packs::add_pack(db, team.id, 1000, today - Days::new(100), None).await.unwrap();
    let csv = format!("email,product,usage date,tokens used\na@x.com,Revit,{},900\n", today - Days::new(1));
    tokenboard::ingest::import::import_usage_csv(db, team, csv.as_bytes()).await.unwrap();
    assert_eq!(jobs.check_alerts().await.unwrap(), 1);
    saved.webhook_secret.expect("a new URL gets a secret")
}

async fn last_errors(db: &Db) -> Vec<Option<String>> {
    let sql = "SELECT last_error FROM webhook_outbox ORDER BY id";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

/// Saving a webhook that points inside is refused with a clear message and
/// changes nothing; a public one is saved and its secret shown once.
async fn internal_webhooks_are_refused_when_saved(db: &Db) {
    let mine = team(db, "mine").await;
    let (_, cookie) = admin_of(db, &mine, "lead@example.com", Role::Primary).await;
    let router = router(db, &config(4096));
    let save = |url: &str| {
        let body = format!(
            "team=mine&settings[time_zone]=UTC&settings[personal_data]=on&settings[low_balance_percents]=20\
             &settings[expiry_horizon_days]=30&settings[alert_recipients]=&settings[alert_webhook_url]={}",
            url.replace('[', "%5B").replace(']', "%5D").replace(':', "%3A").replace('/', "%2F")
        );
        let request = Request::post("/api/settings_save")
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body))
            .unwrap();
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            (status, String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned())
        }
    };
    for url in [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://localhost/hook",
    ] {
        let (status, body) = save(url).await;
        assert!(!status.is_success() && body.contains("internal address"), "{url}: {status} {body}");
        assert_eq!(tokenboard::access::settings::load(db, mine.id).await.unwrap().alert_webhook_url, None, "{url}");
    }
    let (status, body) = save("https://hooks.example.com/t/1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sql = "SELECT webhook_secret FROM teams WHERE id = $1";
    let stored: Option<String> = match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(mine.id).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).bind(mine.id).fetch_one(p).await.unwrap(),
    };
    let stored = stored.expect("the secret is kept for signing");
    assert!(body.contains(&stored), "the secret is in the answer: {body}");
    let page = router.clone().oneshot(crate::http::tests::get("/teams/mine/settings", Some(&cookie))).await.unwrap();
    let page = page.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&page).contains(&stored), "and never again");
    let log = tokenboard::access::audit::for_team(db, mine.id, 100).await.unwrap();
    assert!(log.iter().all(|e| !e.detail.contains(&stored)), "nor in the audit log");
}

/// A name that resolves to loopback (DNS rebinding works the same way), or
/// a loopback literal saved before the rule, is refused when sending.
async fn internal_addresses_are_refused_when_sending(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(db, dir.path(), "");
    let (port, received) = listener(ok).await;
    let by_name = team(db, "by-name").await;
    cross_threshold(db, &jobs, &by_name, &format!("http://localhost:{port}/hook")).await;
    let literal = team(db, "literal").await;
    cross_threshold(db, &jobs, &literal, &format!("http://127.0.0.1:{port}/hook")).await;
    assert_eq!(jobs.send_webhooks().await.unwrap(), 0);
    assert!(received.lock().unwrap().is_empty(), "nothing reached the listener");
    let errors = last_errors(db).await;
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e.as_deref().is_some_and(|e| e.contains("internal"))), "{errors:?}");
}

/// A 307 from an allowed receiver is not followed: the body never reaches
/// the redirect target. The failed attempt is retried later, not at once.
async fn redirects_are_not_followed(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(db, dir.path(), "127.0.0.1");
    let (target, at_target) = listener(ok).await;
    let redirect = move || {
        let location = format!("http://127.0.0.1:{target}/stolen");
        axum::response::IntoResponse::into_response((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]))
    };
    let (port, at_first) = listener(redirect).await;
    let ops = team(db, "ops").await;
    cross_threshold(db, &jobs, &ops, &format!("http://127.0.0.1:{port}/hook")).await;
    assert_eq!(jobs.send_webhooks().await.unwrap(), 0);
    assert_eq!(jobs.send_webhooks().await.unwrap(), 0);
    assert_eq!(at_first.lock().unwrap().len(), 1, "one attempt, the retry waits");
    assert!(at_target.lock().unwrap().is_empty(), "the redirect target received nothing");
    assert!(last_errors(db).await[0].as_deref().unwrap().contains("307"));
    // However often it is retried later, at most WEBHOOK_ATTEMPTS attempts.
    let mut claims = 0;
    for day in 1..10 {
        let later = chrono::Utc::now() + chrono::Duration::days(day);
        claims += tokenboard::notify::alerts::claim_webhooks(db, later, 50).await.unwrap().len();
    }
    assert_eq!(claims as i64, tokenboard::notify::alerts::WEBHOOK_ATTEMPTS - 1);
}

/// One crossing, one POST however often the jobs run; the body is signed
/// with the team's secret (recomputed here from the documented recipe).
async fn a_crossing_is_delivered_once_and_signed(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs(db, dir.path(), "127.0.0.1");
    let (port, received) = listener(ok).await;
    let ops = team(db, "ops").await;
    let secret = cross_threshold(db, &jobs, &ops, &format!("http://127.0.0.1:{port}/hook")).await;
    for _ in 0..3 {
        assert_eq!(jobs.check_alerts().await.unwrap(), 0);
        jobs.send_webhooks().await.unwrap();
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "exactly one POST for one crossing");
    let (headers, body) = &received[0];
    let signature = headers["tokenboard-signature"].to_str().unwrap();
    let (t, v1) = signature.strip_prefix("t=").unwrap().split_once(",v1=").unwrap();
    let t: i64 = t.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - t).abs() < 60, "a fresh timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
    assert!(headers.contains_key("tokenboard-event-id"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(body).unwrap()["kind"], "low-balance");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The server's own code paths create the secret, the export directory and
/// export files owner-only, whatever the umask.
async fn secret_and_export_files_are_owner_only(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut cfg = config(4096);
    cfg.data_dir = data_dir.clone();
    cfg.secret = None;
    let mine = team(db, "mine").await;
    tokenboard::domain::packs::add_pack(db, mine.id, 1000, mine.today() - Days::new(10), None).await.unwrap();
    let (_, cookie) = admin_of(db, &mine, "lead@example.com", Role::Primary).await;
    let response = router(db, &cfg)
        .oneshot(crate::http::tests::get("/teams/mine/export/token-usage.csv?range=7d", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.unwrap();
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&data_dir.join("secret")), 0o600);
    assert_eq!(mode(&cfg.exports_dir()), 0o700);
    let files: Vec<_> = std::fs::read_dir(cfg.exports_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&files[0]), 0o600, "{}", files[0].display());
}

/// A new SQLite database and its -wal/-shm files are owner-only.
#[tokio::test]
async fn a_new_sqlite_database_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db").join("tokenboard.db");
    let db = Db::open(&format!("sqlite://{}", path.display())).await.unwrap();
    team(&db, "mine").await;
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    for file in [path.clone(), path.with_extension("db-wal"), path.with_extension("db-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    db.close().await;
}

db_tests!(
    internal_webhooks_are_refused_when_saved,
    internal_addresses_are_refused_when_sending,
    redirects_are_not_followed,
    a_crossing_is_delivered_once_and_signed,
    secret_and_export_files_are_owner_only,
);
