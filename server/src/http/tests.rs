//! The HTTP surface against a real database: usage API, login, page access
//! and the summary server function, on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::access::{accounts, api_keys, auth};
use tokenboard::db::Pool;
use tokenboard::domain::model::{Role, SummaryView};
use tokenboard::domain::teams::{NewTeam, Team, create_team};
use tokenboard::report::DimensionValue;
use tokenboard::report::views::UsersView;
use tokenboard::{Db, db_tests, domain::packs};

use crate::config::Config;

pub(crate) fn config(max_upload_bytes: usize) -> Config {
    Config {
        database_url: String::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        secure_cookies: false,
        max_upload_bytes,
        site_root: "target/site".into(),
        data_dir: shared_data_dir(),
        secret: Some("http test secret".into()),
        smtp_url: None,
        mail_from: crate::config::DEFAULT_MAIL_FROM.into(),
        public_url: "http://tokenboard.test".into(),
        sessions: Default::default(),
        trusted_proxy_header: None,
        webhook_policy: Default::default(),
        request_timeout: std::time::Duration::from_secs(crate::config::DEFAULT_REQUEST_TIMEOUT_SECS),
        header_timeout: std::time::Duration::from_secs(crate::config::DEFAULT_HEADER_TIMEOUT_SECS),
        metrics_token: None,
        shutdown_grace: std::time::Duration::from_secs(crate::config::DEFAULT_SHUTDOWN_GRACE_SECS),
        log_json: false,
    }
}

/// The data directory of [`config`], shared by every test of the process.
fn shared_data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tokenboard-http-tests-{}", std::process::id()))
}

/// [`config`] with a data directory of `db`'s own: a test's SQLite and
/// PostgreSQL halves run at once and number their exports alike, so with one
/// directory one half's erasure deleted the file the other was downloading
/// (seen in a clean-clone `make test`).
pub(crate) fn config_of(db: &Db, max_upload_bytes: usize) -> Config {
    let mut config = config(max_upload_bytes);
    config.data_dir = config.data_dir.join(format!("db-{}", db.identity().key()));
    config
}

/// The app of `db`; with the shared data directory of [`config`], `db`'s own instead.
pub(crate) fn router(db: &Db, config: &Config) -> axum::Router {
    let mut config = config.clone();
    if config.data_dir == shared_data_dir() {
        config.data_dir = config_of(db, 0).data_dir;
    }
    super::router(super::app_state(db.clone(), &config).unwrap(), &config)
}

/// `request` answered by the app: status, headers and the whole body.
async fn answer(db: &Db, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
    let response = router(db, &config(4096)).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.into_body().collect().await.unwrap().to_bytes())
}

pub(crate) async fn call(db: &Db, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, body) = answer(db, request).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// [`call`] for a check that nothing leaks: the body with its hydration
/// data decoded after it ([`readable`]).
pub(crate) async fn call_including_data(db: &Db, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = answer(db, request).await;
    (status, readable(&body))
}

/// An answer's body as text that checks for leaks can search (not for
/// checks of escaping: the data is decoded raw): a page's
/// hydration data (each resource's screen, in postcard, base64 in a script)
/// is appended decoded, so a name that only the data holds is still found.
/// (Postcard writes strings as their UTF-8 bytes.)
pub(crate) fn readable(body: &[u8]) -> String {
    use base64::Engine;
    const START: &str = "__RESOLVED_RESOURCES[";
    let text = String::from_utf8_lossy(body).into_owned();
    let mut decoded = String::new();
    for (at, _) in text.match_indices(START) {
        let data = text[at..].split_once("] = \"").and_then(|(_, rest)| rest.split_once('"')).map(|(data, _)| data);
        let Some(data) = data else { continue };
        match base64::engine::general_purpose::STANDARD_NO_PAD.decode(data) {
            Ok(bytes) => decoded.push_str(&String::from_utf8_lossy(&bytes)),
            Err(e) => panic!("hydration data that is not base64 ({e}): {data:.100}"),
        }
        decoded.push('\n');
    }
    text + "\n" + &decoded
}

/// A screen's server function called: its status and, when it answered,
/// the screen as the page reads it (`app::api::wire`); an error answer's
/// JSON otherwise.
pub(crate) async fn call_screen<T: serde::de::DeserializeOwned>(
    db: &Db,
    request: Request<Body>,
) -> (StatusCode, Result<T, String>) {
    let (status, _, body) = answer(db, request).await;
    if !status.is_success() {
        return (status, Err(String::from_utf8_lossy(&body).into_owned()));
    }
    (status, Ok(app::api::wire::read(&body).expect("a screen of this build")))
}

pub(crate) async fn team(db: &Db, slug: &str) -> Team {
    create_team(db, &NewTeam { slug: slug.into(), name: format!("Team {slug}"), time_zone: "UTC".into() })
        .await
        .unwrap()
}

fn post_usage(team: &str, key: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::post(format!("/api/v1/teams/{team}/usage")).header(header::CONTENT_TYPE, "text/csv");
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

async fn charges(db: &Db) -> i64 {
    let sql = "SELECT COUNT(*) FROM usage_charges";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

const GOOD: &str = "Email,Product,Usage date,Tokens used\na@x.com,Revit,2026-01-05,10\nb@x.com,Maya,2026-01-05,10\n";

async fn usage_api_imports_idempotently_and_rejects_bad_files(db: &Db) {
    let alpha = team(db, "alpha").await;
    let beta = team(db, "beta").await;
    let key = api_keys::create_api_key(db, alpha.id, "test").await.unwrap();
    let beta_key = api_keys::create_api_key(db, beta.id, "test").await.unwrap();

    let (status, _, _) = call(db, post_usage("alpha", None, GOOD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(db, post_usage("alpha", Some(&beta_key), GOOD)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a key of another team opens nothing");
    assert_eq!(charges(db).await, 0);

    let (status, _, body) = call(db, post_usage("alpha", Some(&key), GOOD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((json["inserted"].as_u64(), json["unchanged"].as_u64()), (Some(2), Some(0)));
    assert!(json["import_id"].as_i64().is_some(), "{body}");
    let (_, _, body) = call(db, post_usage("alpha", Some(&key), GOOD)).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (json["inserted"].as_u64(), json["updated"].as_u64(), json["unchanged"].as_u64()),
        (Some(0), Some(0), Some(2))
    );

    let bad = "Email,Product,Usage date,Tokens used\nc@x.com,Revit,2026-01-06,10\nd@x.com,Revit,yesterday,10\n";
    let (status, _, body) = call(db, post_usage("alpha", Some(&key), bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["errors"][0]["line"].as_u64(), Some(3));
    assert!(json["errors"][0]["message"].as_str().unwrap().contains("not a date"));
    assert_eq!(charges(db).await, 2, "a rejected file writes nothing");

    let huge = format!("{GOOD}{}", "e@x.com,Revit,2026-01-07,1\n".repeat(400));
    let (status, _, _) = call(db, post_usage("alpha", Some(&key), &huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(charges(db).await, 2);
}

pub(crate) fn login_request(email: &str, password: &str, next: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={email}&password={password}&next={next}")))
        .unwrap()
}

pub(crate) fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    // Browsers ask for HTML; that is what makes a redirect a real 302.
    let mut builder = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

async fn login_gates_pages_and_server_functions_by_team(db: &Db) {
    let mine = team(db, "mine").await;
    team(db, "theirs").await;
    packs::add_pack(db, mine.id, 1000, mine.today() - chrono::Days::new(10), None).await.unwrap();
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Secondary).await.unwrap();

    let (status, headers, _) = call(db, login_request("me@example.com", "wrong", "/teams/mine/summary")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/login?error="));
    assert!(headers.get(header::SET_COOKIE).is_none());

    let (status, headers, _) = call(db, login_request("me@example.com", "long%20enough", "/teams/mine/summary")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/teams/mine/summary");
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let (status, _, html) = call(db, get("/teams/mine/summary?range=7d", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-kpi="tokens-total" data-value="1000""#), "the page shows the balance");
    // No usage yet: the chart says so instead of drawing an empty axis.
    assert!(html.contains("No usage in this range"), "an empty range's chart");
    assert_eq!(html.matches(r#"class="hit""#).count(), 0);

    let (status, _, html) = call(db, get("/teams/theirs/summary", Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("data-kpi"));
    let (status, _, _) = call(db, get("/teams/nope/summary", Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown and foreign teams look the same");

    let (status, headers, _) = call(db, get("/teams/mine/summary", None)).await;
    assert!(status.is_redirection(), "{status}");
    assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="));

    // The server function answers the same way as the page.
    let summary_call = |cookie: Option<&str>, team: &str| {
        let mut builder = Request::post("/api/summary").header(header::CONTENT_TYPE, "application/json");
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        builder.body(Body::from(format!(r#"{{"request":{{"team":"{team}","range":{{"range":"30d"}}}}}}"#))).unwrap()
    };
    let (status, screen) =
        call_screen::<app::api::TeamScreen<SummaryView>>(db, summary_call(Some(&cookie), "mine")).await;
    assert_eq!(status, StatusCode::OK, "{screen:?}");
    assert_eq!(screen.unwrap().data.balance.total, 1000);
    let (status, _, body) = call(db, summary_call(Some(&cookie), "theirs")).await;
    assert!(status.is_server_error() || status.is_client_error());
    assert!(body.contains("NotFound") && !body.contains("balance"), "{body}");
    let (_, _, body) = call(db, summary_call(None, "mine")).await;
    assert!(body.contains("Unauthenticated"), "{body}");

    // Logging out ends the session on the server.
    let logout = Request::post("/logout").header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
    call(db, logout).await;
    let (status, _, _) = call(db, get("/teams/mine/summary", Some(&cookie))).await;
    assert!(status.is_redirection());
}

/// Every team page: the admin's team renders, another team is 404 with no
/// data, and without a session each page sends you to log in.
async fn every_team_page_is_gated_by_team(db: &Db) {
    let mine = team(db, "mine").await;
    let theirs = team(db, "theirs").await;
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Secondary).await.unwrap();
    let today = mine.today();
    for t in [&mine, &theirs] {
        let csv = format!(
            "email,first name,product,usage date,tokens used\nsecret-{0}@x.com,Secret{0},Revit,{today},10\n",
            t.slug
        );
        tokenboard::ingest::import::import_usage_csv(db, t, csv.as_bytes()).await.unwrap();
    }
    let user_of = |slug: &'static str| async move {
        let sql = "SELECT u.id FROM team_users u JOIN teams t ON t.id = u.team_id WHERE t.slug = $1";
        match db.pool() {
            Pool::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql).bind(slug).fetch_one(p).await.unwrap(),
            Pool::Postgres(p) => sqlx::query_scalar::<_, i64>(sql).bind(slug).fetch_one(p).await.unwrap(),
        }
    };
    let (my_user, their_user) = (user_of("mine").await, user_of("theirs").await);
    let (_, headers, _) = call(db, login_request("me@example.com", "long%20enough", "/")).await;
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();

    let pages = |slug: &str, user: i64| {
        ["summary", "products", "products/revit", "users", &format!("users/{user}"), "forecast"]
            .map(|p| format!("/teams/{slug}/{p}?range=7d"))
    };
    for path in pages("mine", my_user) {
        let (status, _, html) = call(db, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("data-") && !html.contains("Secrettheirs"), "{path}");
    }
    let (_, _, users_page) = call(db, get("/teams/mine/users?range=7d", Some(&cookie))).await;
    assert!(users_page.contains("Secretmine"), "the user table names the team's users");
    for path in pages("theirs", their_user).into_iter().chain([format!("/teams/mine/users/{their_user}")]) {
        let (status, _, html) = call(db, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("Secrettheirs") && !html.contains("secret-theirs"), "{path} leaks nothing");
    }
    for path in pages("mine", my_user).into_iter().chain(["/balances".to_string()]) {
        let (status, headers, _) = call(db, get(&path, None)).await;
        assert!(status.is_redirection(), "{path}: {status}");
        assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="), "{path}");
    }
    let (status, _, html) = call(db, get("/balances", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-team="mine""#) && !html.contains(r#"data-team="theirs""#));
}

pub(crate) fn login_from(email: &str, password: &str, address: [u8; 4], cookie: Option<&str>) -> Request<Body> {
    let mut request = login_request(email, password, "/balances");
    request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((address, 4000))));
    if let Some(cookie) = cookie {
        request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    }
    request
}

pub(crate) fn session_of(headers: &axum::http::HeaderMap) -> String {
    headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

pub(crate) async fn audit_actions(db: &Db) -> Vec<(String, String)> {
    let sql = "SELECT actor, action FROM audit_log ORDER BY id";
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

/// Wrong passwords slow, then lock, the account *from that address* only
/// (issue 10 item 4: the real admin still logs in from another one); other
/// accounts still log in, and every checked attempt is in the audit log.
async fn failed_logins_are_rate_limited_and_audited(db: &Db) {
    accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    accounts::upsert_admin(db, "other@example.com", "long enough").await.unwrap();
    let mut checked = 0;
    for n in 0..tokenboard::access::login_limits::MAX_FAILURES_PER_ACCOUNT {
        let (_, headers, _) = call(db, login_from("me@example.com", "wrong", [10, 0, 0, 1], None)).await;
        let location = headers[header::LOCATION].to_str().unwrap();
        // The first ones are checked; later ones may come within the delay.
        if n < tokenboard::access::login_limits::DELAY_AFTER || location.contains("error=credentials") {
            assert!(location.contains("error=credentials"), "{location}");
            checked += 1;
        } else {
            assert!(location.contains("error=locked"), "{location}");
        }
    }
    let (_, headers, _) = call(db, login_from("me@example.com", "long%20enough", [10, 0, 0, 1], None)).await;
    assert!(headers[header::LOCATION].to_str().unwrap().contains("error=locked"), "{headers:?}");
    assert!(headers.get(header::SET_COOKIE).is_none(), "a locked account gets no session");
    let (_, headers, _) = call(db, login_from("me@example.com", "long%20enough", [10, 0, 0, 2], None)).await;
    assert_eq!(headers[header::LOCATION], "/balances", "the owner logs in from another address");
    let (_, headers, _) = call(db, login_from("other@example.com", "long%20enough", [10, 0, 0, 2], None)).await;
    assert_eq!(headers[header::LOCATION], "/balances");

    let actions = audit_actions(db).await;
    let failed = actions.iter().filter(|(actor, action)| actor == "me@example.com" && action == "login-failed");
    assert_eq!(failed.count(), checked);
    assert_eq!(actions.last().unwrap(), &("other@example.com".to_owned(), "login".to_owned()));

    // One address guessing at many accounts is stopped too.
    for n in 0..tokenboard::access::login_limits::MAX_FAILURES_PER_ADDRESS {
        call(db, login_from(&format!("guess{n}@example.com"), "x", [10, 9, 9, 9], None)).await;
    }
    let (_, headers, _) = call(db, login_from("other@example.com", "long%20enough", [10, 9, 9, 9], None)).await;
    assert!(headers[header::LOCATION].to_str().unwrap().contains("error=locked"));
}

/// Logging in replaces a session the browser already had; "log out
/// everywhere" ends the sessions of every device.
async fn sessions_rotate_on_login_and_end_everywhere(db: &Db) {
    let mine = team(db, "mine").await;
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Primary).await.unwrap();
    let (_, headers, _) = call(db, login_from("me@example.com", "long%20enough", [10, 0, 0, 1], None)).await;
    let first = session_of(&headers);
    let (_, headers, _) = call(db, login_from("me@example.com", "long%20enough", [10, 0, 0, 1], Some(&first))).await;
    let second = session_of(&headers);
    assert_ne!(first, second);
    let (status, _, _) = call(db, get("/teams/mine/summary", Some(&first))).await;
    assert!(status.is_redirection(), "the session from before the login is gone");
    let (_, headers, _) = call(db, login_from("me@example.com", "long%20enough", [10, 0, 0, 3], None)).await;
    let laptop = session_of(&headers);
    for cookie in [&second, &laptop] {
        assert_eq!(call(db, get("/teams/mine/summary", Some(cookie))).await.0, StatusCode::OK);
    }
    let everywhere = Request::post("/logout/everywhere").header(header::COOKIE, &second).body(Body::empty()).unwrap();
    call(db, everywhere).await;
    for cookie in [&second, &laptop] {
        assert!(call(db, get("/teams/mine/summary", Some(cookie))).await.0.is_redirection());
    }
}

/// Pages, files and errors all carry the security headers.
async fn every_response_carries_the_security_headers(db: &Db) {
    for path in ["/login", "/teams/nope/summary", "/pkg/missing.js", "/teams/x/export/summary.csv"] {
        let (_, headers, _) = call(db, get(path, None)).await;
        let csp = headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_owned());
        assert!(csp.is_some_and(|csp| csp.contains("frame-ancestors 'none'")), "{path}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{path}");
    }
    // A page allows exactly its own inline scripts: every one carries the nonce
    // its CSP names, and the nonce changes per response.
    let nonce_of = |headers: &axum::http::HeaderMap| {
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("'wasm-unsafe-eval'") && !csp.contains("script-src 'unsafe-inline'"), "{csp}");
        csp.split("'nonce-").nth(1).expect("a script nonce").split('\'').next().unwrap().to_owned()
    };
    let (_, headers, html) = call(db, get("/login", None)).await;
    let nonce = nonce_of(&headers);
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1 && html.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts, "{html:.2000}");
    let (_, headers, _) = call(db, get("/login", None)).await;
    assert_ne!(nonce_of(&headers), nonce);
}

/// Personal data off: every page of the team and every export leaves out the
/// users' names and e-mails and shows the keyed hash instead; switching it
/// back on restores the names.
/// Team "mine" with Ada Lovelace and Grace Hopper's usage of today, and the
/// session cookie of its primary admin me@example.com.
pub(crate) async fn ada_and_grace(db: &Db) -> (Team, String) {
    let mine = team(db, "mine").await;
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Primary).await.unwrap();
    let today = mine.today();
    let csv = format!(
        "email,first name,last name,product,usage date,tokens used\n\
         ada.lovelace@x.com,Ada,Lovelace,Revit,{today},10\ngrace@x.com,Grace,Hopper,Maya,{today},20\n"
    );
    tokenboard::ingest::import::import_usage_csv(db, &mine, csv.as_bytes()).await.unwrap();
    let (_, headers, _) = call(db, login_request("me@example.com", "long%20enough", "/")).await;
    (mine, session_of(&headers))
}

async fn personal_data_off_hides_names_on_every_page_and_export(db: &Db) {
    let (mine, cookie) = ada_and_grace(db).await;
    let set_personal_data = |on: bool| async move {
        let mut settings = tokenboard::access::settings::load(db, mine.id).await.unwrap();
        settings.personal_data = on;
        let team = tokenboard::domain::teams::team(db, "mine").await.unwrap();
        let files = tokenboard::export::job::ExportFiles::new(config_of(db, 4096).exports_dir()).unwrap();
        let actor = tokenboard::access::audit::Actor::CommandLine;
        tokenboard::access::settings::update(db, &files, &team, &actor, &settings).await.unwrap();
    };
    let user_id = |email: &'static str| async move {
        let sql = "SELECT id FROM team_users WHERE email = $1";
        match db.pool() {
            Pool::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql).bind(email).fetch_one(p).await.unwrap(),
            Pool::Postgres(p) => sqlx::query_scalar::<_, i64>(sql).bind(email).fetch_one(p).await.unwrap(),
        }
    };
    let ada = user_id("ada.lovelace@x.com").await;
    let mut paths: Vec<String> =
        ["summary", "products", "products/revit", "users", &format!("users/{ada}"), "forecast"]
            .iter()
            .map(|p| format!("/teams/mine/{p}?range=7d"))
            .collect();
    for report in ["token-usage", "seat-usage", "by-user", "by-product", "summary"] {
        paths.push(format!("/teams/mine/export/{report}.csv?range=7d"));
    }
    paths.push(format!("/teams/mine/export/user.csv?range=7d&user={ada}"));
    let secrets = ["Ada", "Lovelace", "ada.lovelace", "Grace", "Hopper", "grace@x.com"];

    set_personal_data(false).await;
    let hashed = tokenboard::report::privacy::PseudonymKey::new(b"http test secret").user_id(mine.id, ada);
    let mut seen_hash = 0;
    for path in &paths {
        let (status, body) = call_including_data(db, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for secret in secrets {
            assert!(!body.contains(secret), "{path} shows {secret:?} with personal data off");
        }
        seen_hash += usize::from(body.contains(&hashed));
    }
    // A search by name tells nothing: it is not applied while names are hidden.
    let (_, _, searched) = call(db, get("/teams/mine/users?range=7d&q=Lovelace", Some(&cookie))).await;
    let (_, _, unsearched) = call(db, get("/teams/mine/users?range=7d&q=nobody-at-all", Some(&cookie))).await;
    assert!(searched.contains(&hashed) && unsearched.contains(&hashed));
    // The server functions the pages call answer the same.
    for (endpoint, request) in [
        (
            "users",
            serde_json::json!({"team": "mine", "range": {"range": "7d"}, "table": {"search": "", "sort": "tokens", "direction": "desc", "page": 1}}),
        ),
        ("user", serde_json::json!({"team": "mine", "user": ada, "range": {"range": "7d"}})),
        ("product", serde_json::json!({"team": "mine", "product": "revit", "range": {"range": "7d"}})),
    ] {
        let call_fn = Request::post(format!("/api/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie)
            .body(Body::from(serde_json::json!({ "request": request }).to_string()))
            .unwrap();
        let (status, _, body) = call(db, call_fn).await;
        assert_eq!(status, StatusCode::OK, "{endpoint}: {body}");
        for secret in secrets {
            assert!(!body.contains(secret), "/api/{endpoint} shows {secret:?} with personal data off");
        }
        seen_hash += usize::from(body.contains(&hashed));
    }
    assert!(seen_hash >= 8, "the hashed id stands in for the user ({seen_hash} responses)");

    set_personal_data(true).await;
    let (_, _, users_page) = call(db, get("/teams/mine/users?range=7d", Some(&cookie))).await;
    assert!(users_page.contains("Lovelace") && !users_page.contains(&hashed), "names are back");
}

/// Posts a server function's form as the app does, with `cookie`.
fn server_fn_form(endpoint: &str, cookie: &str, form: &str) -> Request<Body> {
    Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn server_fn_json(endpoint: &str, cookie: &str, request: serde_json::Value) -> Request<Body> {
    Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(serde_json::json!({ "request": request }).to_string()))
        .unwrap()
}

/// The values of column `name` of a CSV export, in file order.
fn csv_column(body: &str, name: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(body.as_bytes());
    let i = reader.headers().unwrap().iter().position(|h| h == name).unwrap();
    reader.records().map(|r| r.unwrap()[i].to_owned()).collect()
}

/// Personal data off (issue 10, item 6): sorting by name sorts by the hashed
/// id shown, never by the hidden name — on the screen, in `/api/users`, in
/// the by-user export, from the usage index and from SQL alike. Switching it
/// off deletes the exports made with names (files and records), so their
/// links answer 404.
async fn personal_data_off_sorts_by_pseudonym_and_purges_named_exports(db: &Db) {
    let mine = team(db, "mine").await;
    let admin = accounts::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Primary).await.unwrap();
    let today = mine.today();
    let names = ["Abel", "Bert", "Cleo", "Dora", "Emil", "Fay", "Gus", "Hana"];
    let mut csv = String::from("email,first name,last name,product,usage date,tokens used\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("{}@x.com,{name},{name}son,Revit,{today},{}\n", name.to_lowercase(), 10 + i));
    }
    tokenboard::ingest::import::import_usage_csv(db, &mine, csv.as_bytes()).await.unwrap();
    let (_, headers, _) = call(db, login_request("me@example.com", "long%20enough", "/")).await;
    let cookie = session_of(&headers);

    // With names shown, an export by user is stored with them.
    let (status, _, body) = call(db, get("/teams/mine/export/by-user.csv?range=7d&sort=name", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Abelson"));
    let named = tokenboard::export::history::list(db, mine.id).await.unwrap()[0].clone();
    let files = tokenboard::export::job::ExportFiles::new(config_of(db, 4096).exports_dir()).unwrap();
    let named_file = files.path(named.id, named.format);
    assert!(named_file.is_file());

    // Switched off through the settings form.
    let form = "team=mine&settings[time_zone]=UTC&settings[personal_data]=off&settings[low_balance_percents]=20\
                &settings[expiry_horizon_days]=30&settings[alert_recipients]=&settings[alert_webhook_url]=";
    let (status, _, body) = call(db, server_fn_form("settings_save", &cookie, form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("1 stored exports with names deleted"), "{body}");
    assert!(!named_file.exists(), "the file with names is gone from disk");
    assert!(tokenboard::export::history::find(db, named.id).await.unwrap().is_none());
    for link in [
        format!("/teams/mine/exports/{}/download", named.id),
        format!("/teams/mine/exports/{}/download?via=mail", named.id),
    ] {
        let (status, _, body) = call(db, get(&link, Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{link}");
        assert!(!body.contains("Abel"));
    }
    let log = tokenboard::access::audit::for_team(db, mine.id, 50).await.unwrap();
    assert!(log.iter().any(|e| e.action == "exports-purged"), "{log:?}");

    // The name order is the order of the hashed ids, not of the hidden names.
    let key = tokenboard::report::privacy::PseudonymKey::new(b"http test secret");
    let mut by_hash: Vec<(String, &str)> = Vec::new();
    for name in names {
        let email = format!("{}@x.com", name.to_lowercase());
        let sql = "SELECT id FROM team_users WHERE email = $1";
        let id: i64 = match db.pool() {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(&email).fetch_one(p).await.unwrap(),
            Pool::Postgres(p) => sqlx::query_scalar(sql).bind(&email).fetch_one(p).await.unwrap(),
        };
        by_hash.push((key.user_id(mine.id, id), name));
    }
    by_hash.sort();
    let expected: Vec<String> = by_hash.iter().map(|(hash, _)| hash.clone()).collect();
    let by_name: Vec<&str> = by_hash.iter().map(|(_, name)| *name).collect();
    assert_ne!(by_name, names, "the fixture's names sort unlike their hashed ids");

    let request = serde_json::json!({"team": "mine", "range": {"range": "7d"},
        "table": {"search": "", "sort": "name", "direction": "asc", "page": 1}});
    let (status, screen) =
        call_screen::<app::api::TeamScreen<UsersView>>(db, server_fn_json("users", &cookie, request)).await;
    assert_eq!(status, StatusCode::OK, "{screen:?}");
    let api: Vec<String> = screen
        .unwrap()
        .data
        .users
        .rows
        .iter()
        .map(|row| match &row.keys[0] {
            DimensionValue::User { email, .. } => email.clone(),
            other => panic!("a user row keyed {other:?}"),
        })
        .collect();
    assert_eq!(api, expected, "/api/users sorts by the hashed id");

    let (_, _, page) = call(db, get("/teams/mine/users?range=7d&sort=name&dir=desc", Some(&cookie))).await;
    let table = &page[page.find(r#"class="data users-table""#).unwrap()..];
    let positions: Vec<usize> = expected.iter().map(|hash| table.find(hash.as_str()).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "the page, Z→A, in hashed-id order");

    let (_, _, body) = call(db, get("/teams/mine/export/by-user.csv?range=7d&sort=name", Some(&cookie))).await;
    assert_eq!(csv_column(&body, "Email"), expected, "the export sorts as the screen");

    // The SQL answerer under the same rule agrees with the index's answer.
    let team = tokenboard::domain::teams::team(db, "mine").await.unwrap();
    let range = tokenboard::domain::range::RangeQuery::preset(tokenboard::domain::range::RangePreset::Days7)
        .resolve(today)
        .unwrap();
    let table = tokenboard::report::params::UserTableQuery {
        search: String::new(),
        sort: tokenboard::report::params::UserSort::Name,
        direction: tokenboard::report::Direction::Asc,
        page: 1,
    };
    let privacy = tokenboard::report::privacy::Privacy::new(&key, &team);
    let screen = tokenboard::report::screens::user_table(db, &team, range, &table, &privacy, None).await.unwrap();
    let query = tokenboard::report::screens::user_table_query(team.id, range, &table);
    let mut sql = tokenboard::report::sql::run_sql(db, &query).await.unwrap();
    privacy.mask_report(&mut sql);
    privacy.order_by_shown_id(&mut sql, table.direction);
    assert_eq!(screen.rows, sql.rows);
}

/// Every mail of the outbox tells a primary-only setting (alert recipients,
/// schedules): a secondary admin sees none of them; a primary sees them.
async fn secondaries_see_no_alert_mail_in_the_outbox(db: &Db) {
    let mine = team(db, "mine").await;
    for (email, role) in [("lead@example.com", Role::Primary), ("helper@example.com", Role::Secondary)] {
        let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
        auth::grant_role(db, mine.id, admin.id, role).await.unwrap();
    }
    let recipients = ["alerts-secret@example.com".to_owned()];
    tokenboard::notify::mail::enqueue(db, mine.id, &recipients, "Tokenboard: low", "below 20%", chrono::Utc::now())
        .await
        .unwrap();
    for (email, sees) in [("lead@example.com", true), ("helper@example.com", false)] {
        let (_, headers, _) = call(db, login_request(email, "long%20enough", "/")).await;
        let cookie = session_of(&headers);
        let request = Request::post("/api/outbox")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::COOKIE, &cookie)
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, body) = call(db, request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body.contains("alerts-secret@example.com"), sees, "{email}: {body}");
        // Schedules are for primary admins only.
        let (status, _, _) = call(db, server_fn_json("schedules", &cookie, serde_json::json!({"team": "mine"}))).await;
        assert_eq!(status.is_success(), sees, "{email} loads schedules: {status}");
        let form = "team=mine&schedule[report]=summary&schedule[format]=csv&schedule[range]=30d\
                    &schedule[cadence]=weekly&schedule[start_on]=2027-01-04&schedule[recipients]=lead@example.com";
        let (status, _, body) = call(db, server_fn_form("schedule_save", &cookie, form)).await;
        assert_eq!(status.is_success(), sees, "{email} saves a schedule: {status} {body}");
    }
    assert_eq!(tokenboard::notify::schedules::list(db, mine.id).await.unwrap().len(), 1, "only the primary's");
}

db_tests!(
    personal_data_off_sorts_by_pseudonym_and_purges_named_exports,
    secondaries_see_no_alert_mail_in_the_outbox,
    personal_data_off_hides_names_on_every_page_and_export,
    every_response_carries_the_security_headers,
    failed_logins_are_rate_limited_and_audited,
    sessions_rotate_on_login_and_end_everywhere,
    usage_api_imports_idempotently_and_rejects_bad_files,
    login_gates_pages_and_server_functions_by_team,
    every_team_page_is_gated_by_team,
);
