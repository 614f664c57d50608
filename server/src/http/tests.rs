//! The HTTP surface against a real database: usage API, login, page access
//! and the summary server function, on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::db::Pool;
use tokenboard::model::Role;
use tokenboard::teams::{NewTeam, Team, create_team};
use tokenboard::{Db, auth, db_tests, packs};

use crate::config::Config;

fn config(max_upload_bytes: usize) -> Config {
    Config {
        database_url: String::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        secure_cookies: false,
        max_upload_bytes,
        site_root: "target/site".into(),
    }
}

async fn call(db: &Db, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = super::router(db.clone(), &config(4096)).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn team(db: &Db, slug: &str) -> Team {
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
    let key = auth::create_api_key(db, alpha.id, "test").await.unwrap();
    let beta_key = auth::create_api_key(db, beta.id, "test").await.unwrap();

    let (status, _, _) = call(db, post_usage("alpha", None, GOOD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(db, post_usage("alpha", Some(&beta_key), GOOD)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a key of another team opens nothing");
    assert_eq!(charges(db).await, 0);

    let (status, _, body) = call(db, post_usage("alpha", Some(&key), GOOD)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((json["inserted"].as_u64(), json["duplicates"].as_u64()), (Some(2), Some(0)));
    let (_, _, body) = call(db, post_usage("alpha", Some(&key), GOOD)).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((json["inserted"].as_u64(), json["duplicates"].as_u64()), (Some(0), Some(2)));

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

fn login_request(email: &str, password: &str, next: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={email}&password={password}&next={next}")))
        .unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
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
    let admin = auth::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
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
    assert_eq!(html.matches(r#"class="hit""#).count(), 7, "one chart bar per day of the 7-day range");

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
    let (status, _, body) = call(db, summary_call(Some(&cookie), "mine")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["summary"]["balance"]["total"].as_i64(), Some(1000));
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
    let admin = auth::upsert_admin(db, "me@example.com", "long enough").await.unwrap();
    auth::grant_role(db, mine.id, admin.id, Role::Secondary).await.unwrap();
    let today = mine.today();
    for t in [&mine, &theirs] {
        let csv = format!(
            "email,first name,product,usage date,tokens used\nsecret-{0}@x.com,Secret{0},Revit,{today},10\n",
            t.slug
        );
        tokenboard::import::import_usage_csv(db, t, csv.as_bytes()).await.unwrap();
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

db_tests!(
    usage_api_imports_idempotently_and_rejects_bad_files,
    login_gates_pages_and_server_functions_by_team,
    every_team_page_is_gated_by_team,
);
