//! The authorisation matrix (issue 5): every page of the Leptos route list,
//! every registered server function and every plain route, called as
//! anonymous, an admin of another team, an API key of another team, a
//! secondary and a primary admin of the team. Each is allowed exactly for the
//! callers its level admits, and no denied call returns the team's data.
//! A new route or server function fails this test until it is given a level.

use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use app::api::TeamRequest;
use app::api::reports::{
    ProductDetailRequest, ProductsRequest, ReportRequest, SummaryRequest, UserDetailRequest, UsersRequest,
};
use tokenboard::access::{accounts, api_keys, auth};
use tokenboard::domain::model::Role;
use tokenboard::domain::range::RangeQuery;
use tokenboard::{Db, db_tests};

use super::tests::{config, router};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Public,
    /// Any logged-in admin (their own teams only).
    Admin,
    Secondary,
    Primary,
    /// A key of the team named in the path.
    ApiKey,
    /// Whoever runs the server: a loopback caller, or the metrics token —
    /// no admin's session and no team's key.
    Operator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    ApiKeyOfOtherTeam,
    AdminOfOtherTeam,
    SecondaryAdmin,
    PrimaryAdmin,
}

impl Caller {
    fn allowed(self, level: Level) -> bool {
        match level {
            Level::Public => true,
            Level::Admin => matches!(self, Caller::AdminOfOtherTeam | Caller::SecondaryAdmin | Caller::PrimaryAdmin),
            Level::Secondary => matches!(self, Caller::SecondaryAdmin | Caller::PrimaryAdmin),
            Level::Primary => self == Caller::PrimaryAdmin,
            Level::ApiKey | Level::Operator => false,
        }
    }
}

/// Strings only the team's admins may see, and those only primary admins may see.
const TEAM_SECRETS: [&str; 3] = ["Secretmine", "secret-mine@x.com", "Team mine"];
const PRIMARY_SECRETS: [&str; 2] = ["mine-key-label", "mine-alerts@example.com"];

fn page_level(path: &str) -> Level {
    match path {
        "/login" | "/set-password" => Level::Public,
        "/" | "/balances" | "/outbox" | "/account" => Level::Admin,
        p if p.ends_with("/settings") || p.ends_with("/audit") || p.ends_with("/schedules") => Level::Primary,
        p if p.starts_with("/teams/") => Level::Secondary,
        other => panic!("page {other} has no level in the authorisation matrix"),
    }
}

fn plain_level(path: &str) -> Level {
    match path {
        "/login" | "/logout" | "/logout/everywhere" | "/set-password" | "/healthz" | "/readyz" => Level::Public,
        "/metrics" => Level::Operator,
        // Any logged-in admin, for their own account only.
        "/account/password" => Level::Admin,
        // Draws what it is sent, for any logged-in admin; reads no data.
        "/charts/svg" => Level::Admin,
        "/api/v1/teams/{team}/usage" => Level::ApiKey,
        "/teams/{team}/export/{file}" | "/teams/{team}/exports/{id}/download" => Level::Secondary,
        // Imports change the team's numbers: primary admins only.
        "/teams/{team}/imports/upload" => Level::Primary,
        other => panic!("route {other} has no level in the authorisation matrix"),
    }
}

/// Level and request body of every server function, by endpoint.
fn server_fn_call(path: &str, ids: &Ids) -> (Level, String, &'static str) {
    let range = RangeQuery { range: Some("30d".into()), ..RangeQuery::default() };
    let team = || "mine".to_owned();
    let json = |value: serde_json::Value| (value.to_string(), "application/json");
    let form = |text: String| (text, "application/x-www-form-urlencoded");
    let report = ReportRequest { team: team(), range: range.clone() };
    let products = ProductsRequest { team: team(), range: range.clone(), order: Default::default() };
    let team_request = TeamRequest { team: team() };
    let (level, (body, content_type)) = match path.trim_start_matches("/api/") {
        "viewer" => (Level::Admin, json(serde_json::json!({}))),
        "balances" => (Level::Admin, json(serde_json::json!({}))),
        "outbox" => (Level::Admin, json(serde_json::json!({}))),
        "summary" => (
            Level::Secondary,
            json(
                serde_json::json!({ "request": SummaryRequest { team: team(), range: range.clone(), stacked: false, compare: false } }),
            ),
        ),
        "forecast" => (Level::Secondary, json(serde_json::json!({ "request": report }))),
        "products" => (Level::Secondary, json(serde_json::json!({ "request": products }))),
        "product" => {
            let request =
                ProductDetailRequest { team: team(), product: "revit".into(), range: range.clone(), compare: false };
            (Level::Secondary, json(serde_json::json!({ "request": request })))
        }
        "users" => {
            let request = UsersRequest { team: team(), range: range.clone(), table: Default::default() };
            (Level::Secondary, json(serde_json::json!({ "request": request })))
        }
        "user" => {
            let request = UserDetailRequest { team: team(), user: ids.user, range: range.clone() };
            (Level::Secondary, json(serde_json::json!({ "request": request })))
        }
        "exports" | "imports" => (Level::Secondary, json(serde_json::json!({ "request": team_request }))),
        "import_undo" => (Level::Primary, form(format!("team=mine&id={}", ids.import))),
        "packs" => (Level::Secondary, json(serde_json::json!({ "request": team_request }))),
        "pack_save" => (
            Level::Primary,
            form("team=mine&pack=&tokens=100&purchased_on=2026-01-05&expires_on=&order_ref=PO-9".into()),
        ),
        "pack_void" => (Level::Primary, form(format!("team=mine&pack={}", ids.spare_pack))),
        // To a team the primary admin of "mine" is also primary of.
        "tokens_move" => (Level::Primary, form(format!("team=mine&to=spare&pack={}&tokens=1", ids.pack))),
        "tokens_adjust" => (Level::Primary, form("team=mine&tokens=5&pack=&reason=credit".into())),
        "user_erase" => (Level::Primary, form(format!("team=mine&user={}", ids.user))),
        // Schedules are for primary admins only (issue 10).
        "schedules" => (Level::Primary, json(serde_json::json!({ "request": team_request }))),
        "schedule_save" => (
            Level::Primary,
            form(
                "team=mine&schedule[report]=summary&schedule[format]=csv&schedule[range]=30d&schedule[cadence]=weekly\
                  &schedule[start_on]=2027-01-04&schedule[recipients]=primary@example.com"
                    .into(),
            ),
        ),
        "schedule_command" => (Level::Primary, form(format!("team=mine&id={}&command=pause", ids.schedule))),
        "settings" | "audit" => (Level::Primary, json(serde_json::json!({ "request": team_request }))),
        "settings_save" => (
            Level::Primary,
            form(
                "team=mine&settings[time_zone]=UTC&settings[personal_data]=on&settings[low_balance_percents]=20\
                  &settings[expiry_horizon_days]=30&settings[alert_recipients]=mine-alerts@example.com\
                  &settings[alert_webhook_url]="
                    .into(),
            ),
        ),
        "api_key_create" => (Level::Primary, form("team=mine&label=another".into())),
        "api_key_revoke" => (Level::Primary, form(format!("team=mine&id={}", ids.spare_key))),
        "admin_invite" => (Level::Primary, form("team=mine&email=new-admin@example.com&role=secondary".into())),
        "admin_command" => (Level::Primary, form(format!("team=mine&admin_id={}&command=secondary", ids.secondary))),
        other => panic!("server function {other} has no level in the authorisation matrix"),
    };
    (level, body, content_type)
}

/// One call of the matrix: what it is, its level, method, path and body
/// with its content type.
type Call = (String, Level, Method, String, Option<(String, &'static str)>);

/// Ids the calls name.
struct Ids {
    user: i64,
    schedule: i64,
    spare_key: i64,
    secondary: i64,
    export: i64,
    import: i64,
    pack: i64,
    spare_pack: i64,
}

fn concrete(path: &str, ids: &Ids) -> String {
    path.replace("{team}", "mine")
        .replace(":team", "mine")
        .replace("{product}", "revit")
        .replace(":product", "revit")
        .replace("{user}", &ids.user.to_string())
        .replace(":user", &ids.user.to_string())
        .replace("{file}", "summary.csv")
        .replace("{id}", &ids.export.to_string())
}

async fn send(db: &Db, request: Request<Body>) -> (u16, Option<String>, String) {
    let what = format!("{} {}", request.method(), request.uri());
    // A call that never answers fails the test by name instead of hanging CI.
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(60), router(db, &config(1 << 20)).oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{what} did not answer within 60 s"))
            .unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, location, super::tests::readable(&body))
}

async fn login(db: &Db, email: &str) -> String {
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={email}&password=long%20enough&next=/")))
        .unwrap();
    let response = router(db, &config(4096)).oneshot(request).await.unwrap();
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn every_route_and_server_function_admits_exactly_its_callers(db: &Db) {
    let mine = super::tests::team(db, "mine").await;
    let theirs = super::tests::team(db, "theirs").await;
    let today = mine.today();
    let csv =
        format!("email,first name,product,usage date,tokens used\nsecret-mine@x.com,Secretmine,Revit,{today},10\n");
    tokenboard::ingest::import::import_usage_csv(db, &mine, csv.as_bytes()).await.unwrap();
    let spare = super::tests::team(db, "spare").await;
    let packs = [
        tokenboard::domain::packs::add_pack(db, mine.id, 1_000, today - chrono::Days::new(5), None).await.unwrap(),
        tokenboard::domain::packs::add_pack(db, mine.id, 50, today - chrono::Days::new(5), None).await.unwrap(),
    ];
    let mut admins = Vec::new();
    for (email, team, role) in [
        ("primary@example.com", spare.id, Role::Primary),
        ("primary@example.com", mine.id, Role::Primary),
        ("secondary@example.com", mine.id, Role::Secondary),
        ("other@example.com", theirs.id, Role::Primary),
    ] {
        let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
        auth::grant_role(db, team, admin.id, role).await.unwrap();
        admins.push(admin);
    }
    api_keys::create_api_key(db, mine.id, "mine-key-label").await.unwrap();
    api_keys::create_api_key(db, mine.id, "spare").await.unwrap();
    let their_key = api_keys::create_api_key(db, theirs.id, "theirs").await.unwrap();
    let mut settings = tokenboard::access::settings::load(db, mine.id).await.unwrap();
    settings.alert_recipients = vec!["mine-alerts@example.com".into()];
    let files = tokenboard::export::job::ExportFiles::new(config(4096).exports_dir()).unwrap();
    let actor = tokenboard::access::audit::Actor::CommandLine;
    tokenboard::access::settings::update(db, &files, &mine, &actor, &settings).await.unwrap();
    let schedule = tokenboard::notify::schedules::ScheduleInput {
        report: "summary".into(),
        format: "csv".into(),
        range: "30d".into(),
        cadence: "weekly".into(),
        start_on: "2027-01-04".into(),
        recipients: "primary@example.com".into(),
    };
    let owner = tokenboard::access::audit::Actor::Admin { id: admins[0].id, email: admins[0].email.clone() };
    let schedule =
        tokenboard::notify::schedules::create(db, &mine, &owner, &schedule.validate().unwrap()).await.unwrap();
    let cookies = [
        login(db, "primary@example.com").await,
        login(db, "secondary@example.com").await,
        login(db, "other@example.com").await,
    ];
    // A finished export of the team to download.
    let (status, ..) = send(db, get_request("/teams/mine/export/summary.csv?range=30d", Some(&cookies[0]))).await;
    assert_eq!(status, 200);
    let user: i64 = {
        let sql = "SELECT id FROM team_users WHERE email = 'secret-mine@x.com'";
        match db.pool() {
            tokenboard::db::Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            tokenboard::db::Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    };
    let keys = api_keys::api_keys(db, mine.id).await.unwrap();
    let ids = Ids {
        user,
        schedule: schedule.id,
        spare_key: keys.iter().find(|k| k.label == "spare").unwrap().id,
        secondary: admins[2].id,
        export: tokenboard::export::history::list(db, mine.id).await.unwrap()[0].id,
        import: tokenboard::ingest::import::list_imports(db, mine.id, 1).await.unwrap()[0].id,
        pack: packs[0].id,
        spare_pack: packs[1].id,
    };

    // Every call: (what, level, method, path, body, content type).
    let mut calls: Vec<Call> = Vec::new();
    for listing in super::page_routes() {
        let level = page_level(&concrete(listing.path(), &ids).replace(&ids.user.to_string(), "{user}"));
        let path = concrete(listing.path(), &ids);
        calls.push((format!("page {}", listing.path()), level, Method::GET, format!("{path}?range=30d"), None));
    }
    for (path, _) in super::plain_routes(&config(4096)) {
        let level = plain_level(path);
        let (method, body) = match path {
            "/teams/{team}/export/{file}" | "/teams/{team}/exports/{id}/download" => (Method::GET, None),
            "/teams/{team}/imports/upload" => (
                Method::POST,
                Some((
                    format!(
                        "--B\r\nContent-Disposition: form-data; name=\"date_format\"\r\n\r\n\r\n\
                         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\
                         Content-Type: text/csv\r\n\r\nEmail,Product,Usage date,Tokens used\n\
                         z@x.com,Revit,{today},1\n\r\n--B--\r\n"
                    ),
                    "multipart/form-data; boundary=B",
                )),
            ),
            "/api/v1/teams/{team}/usage" => (
                Method::POST,
                Some((format!("Email,Product,Usage date,Tokens used\nz@x.com,Revit,{today},1\n"), "text/csv")),
            ),
            "/charts/svg" => {
                (Method::POST, Some((r#"{"Donut":{"used":1,"available":2}}"#.to_owned(), "application/json")))
            }
            // A wrong current password: the call is admitted, and changes nothing.
            "/account/password" => (
                Method::POST,
                Some((
                    "current_password=nope&new_password=another%20one".to_owned(),
                    "application/x-www-form-urlencoded",
                )),
            ),
            "/set-password" => (
                Method::POST,
                Some(("token=not-a-link&password=another%20one".to_owned(), "application/x-www-form-urlencoded")),
            ),
            _ => (
                Method::POST,
                Some(("email=x%40x.com&password=nope&next=/".to_owned(), "application/x-www-form-urlencoded")),
            ),
        };
        calls.push((format!("route {path}"), level, method, concrete(path, &ids), body));
    }
    let mut server_fns: Vec<&'static str> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
    server_fns.sort_unstable();
    assert!(server_fns.len() >= 20, "the registry lists the server functions: {server_fns:?}");
    for path in server_fns {
        let (level, body, content_type) = server_fn_call(path, &ids);
        calls.push((format!("server fn {path}"), level, Method::POST, path.to_owned(), Some((body, content_type))));
    }
    assert!(calls.len() >= 35, "pages, routes and server functions: {}", calls.len());
    // Logging out last: it ends the caller's session.
    calls.sort_by_key(|(what, ..)| what.contains("logout"));

    for caller in [
        Caller::Anonymous,
        Caller::ApiKeyOfOtherTeam,
        Caller::AdminOfOtherTeam,
        Caller::SecondaryAdmin,
        Caller::PrimaryAdmin,
    ] {
        let cookie = match caller {
            Caller::PrimaryAdmin => Some(login(db, "primary@example.com").await),
            Caller::SecondaryAdmin => Some(login(db, "secondary@example.com").await),
            Caller::AdminOfOtherTeam => Some(login(db, "other@example.com").await),
            _ => None,
        };
        for (what, level, method, path, body) in &calls {
            // Pages as a browser asks for them; server functions as the app calls them
            // (a form post accepting text/html is redirected back instead).
            let accept = if what.starts_with("server fn") { "application/json" } else { "text/html" };
            let mut builder =
                Request::builder().method(method.clone()).uri(path.as_str()).header(header::ACCEPT, accept);
            if let Some(cookie) = &cookie {
                builder = builder.header(header::COOKIE, cookie);
            }
            if caller == Caller::ApiKeyOfOtherTeam {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {their_key}"));
            }
            let request = match body {
                Some((body, content_type)) => {
                    builder.header(header::CONTENT_TYPE, *content_type).body(Body::from(body.clone())).unwrap()
                }
                None => builder.body(Body::empty()).unwrap(),
            };
            let (status, location, text) = send(db, request).await;
            let denied = status >= 400 || location.as_deref().is_some_and(|l| l.starts_with("/login"));
            if *level == Level::Public {
                continue;
            }
            assert_eq!(
                !denied,
                caller.allowed(*level),
                "{caller:?} → {what} ({path}): {status} {location:?} {text:.300}"
            );
            if !matches!(caller, Caller::SecondaryAdmin | Caller::PrimaryAdmin) {
                for secret in TEAM_SECRETS {
                    assert!(!text.contains(secret), "{caller:?} → {what} shows {secret:?}");
                }
            }
            if caller != Caller::PrimaryAdmin && *level == Level::Primary {
                for secret in PRIMARY_SECRETS {
                    assert!(!text.contains(secret), "{caller:?} → {what} shows {secret:?}");
                }
            }
        }
    }
    // The primary admin's calls left their trace in the audit log.
    let actions: Vec<String> = tokenboard::access::audit::for_team(db, mine.id, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "primary@example.com")
        .map(|e| e.action)
        .collect();
    for action in [
        "api-key-created",
        "api-key-revoked",
        "admin-changed",
        "exported",
        "login",
        "import-undone",
        "pack-added",
        "pack-voided",
        "tokens-moved",
        "tokens-adjusted",
    ] {
        assert!(actions.iter().any(|a| a == action), "no {action} in {actions:?}");
    }
}

fn get_request(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).unwrap()
}

db_tests!(every_route_and_server_function_admits_exactly_its_callers);
