//! Erasing a person, through the server function the user page calls, on
//! SQLite and PostgreSQL: afterwards their name and e-mail appear in no
//! page, server-function answer, export or audit row; the file exported
//! before is gone; every total is unchanged.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use tokenboard::{Db, db_tests, on_db};

use super::tests::{ada_and_grace, call, call_including_data, get};

const SECRETS: [&str; 3] = ["Lovelace", "ada.lovelace", "Ada "];

async fn total_tokens(db: &Db) -> i64 {
    on_db!(db, |p| sqlx::query_scalar("SELECT CAST(SUM(tokens) AS BIGINT) FROM usage_charges")
        .fetch_one(p)
        .await
        .unwrap())
}

async fn erasing_a_person_leaves_no_trace_and_every_total(db: &Db) {
    let (mine, cookie) = ada_and_grace(db).await;
    let today = mine.today();
    // A rejected file whose bad line quotes her e-mail: the import history keeps it.
    let bad = format!("email,product,usage date,tokens used\nada.lovelace@x.com\u{7},Revit,{today},1\n");
    assert!(tokenboard::ingest::import::import_usage_csv(db, &mine, bad.as_bytes()).await.is_err());
    let rejected = tokenboard::ingest::import::list_imports(db, mine.id, 1).await.unwrap()[0].id;
    let ada: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT id FROM team_users WHERE email = 'ada.lovelace@x.com'")
        .fetch_one(p)
        .await
        .unwrap());
    // An export made before, with names: it must not outlive the erasure.
    let (status, _, before) = call(db, get("/teams/mine/export/token-usage.csv?range=7d", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(before.contains("Lovelace"));
    let export_id: i64 = on_db!(db, |p| sqlx::query_scalar("SELECT MAX(id) FROM exports").fetch_one(p).await.unwrap());
    let tokens_before = total_tokens(db).await;
    // The checks below read each page's hydration data too: the
    // import list shows no line's error, yet its data holds this one.
    let (_, list) = call_including_data(db, get("/teams/mine/imports", Some(&cookie))).await;
    let visible = &list[..list.find("__RESOLVED_RESOURCES").expect("a page with hydration data")];
    assert!(!visible.contains("ada.lovelace@x.com") && list.contains("ada.lovelace@x.com"), "{list:.300}");

    let erase = Request::post("/api/user_erase")
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("team=mine&user={ada}")))
        .unwrap();
    let (status, _, answer) = call(db, erase).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("1 stored exports deleted"), "{answer}");
    // Checked before any new export: SQLite may give a new export a freed id.
    let (status, ..) = call(db, get(&format!("/teams/mine/exports/{export_id}/download"), Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the earlier file is deleted");

    let mut paths: Vec<String> =
        ["summary", "products", "products/revit", "users", &format!("users/{ada}"), "forecast", "imports", "audit"]
            .iter()
            .map(|p| format!("/teams/mine/{p}?range=7d"))
            .collect();
    paths.push(format!("/teams/mine/imports?import={rejected}"));
    for report in ["token-usage", "seat-usage", "by-user", "by-product", "summary"] {
        paths.push(format!("/teams/mine/export/{report}.csv?range=7d"));
    }
    for path in &paths {
        let (status, body) = call_including_data(db, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for secret in SECRETS {
            assert!(!body.contains(secret), "{path} still shows {secret:?}");
        }
    }
    // A search by the erased name finds no one (the box repeats what was typed).
    let (_, _, searched) = call(db, get("/teams/mine/users?range=7d&q=Lovelace", Some(&cookie))).await;
    // (The top-users chart is not filtered by the search: the table is.)
    assert!(!searched.contains(&format!("<tr data-key=\"{ada}\"")), "the erased name still finds the person");
    assert!(!searched.contains("ada.lovelace"));
    let users = Request::post("/api/users")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({"request": {"team": "mine", "range": {"range": "7d"}, "table": {"search": "", "sort": "tokens", "direction": "desc", "page": 1}}}).to_string(),
        ))
        .unwrap();
    let (status, _, body) = call(db, users).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!SECRETS.iter().any(|s| body.contains(s)) && body.contains("Grace"), "{body}");
    let audit: Vec<String> =
        on_db!(db, |p| sqlx::query_scalar("SELECT detail FROM audit_log").fetch_all(p).await.unwrap());
    assert!(audit.iter().any(|d| d.contains("was erased")), "{audit:?}");
    assert!(!audit.iter().any(|d| SECRETS.iter().any(|s| d.contains(s))), "{audit:?}");
    assert_eq!(total_tokens(db).await, tokens_before, "usage and totals stay");
}

db_tests!(erasing_a_person_leaves_no_trace_and_every_total);
