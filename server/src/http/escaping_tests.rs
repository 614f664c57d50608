//! Text from imported files is data, never markup (DESIGN §8, issue 10 item
//! 2): names carrying `</title>`, `<script>`, `&` and quotes are imported by
//! one team, and every page that shows them — the other team's too, as the
//! product catalogue is shared — keeps them inside the text.

use axum::http::StatusCode;

use tokenboard::access::{accounts, auth};
use tokenboard::db::Pool;
use tokenboard::domain::model::Role;
use tokenboard::{Db, db_tests};

use super::tests::{call, get, login_request, session_of, team};

const TITLE_BREAK: &str = r#"</title><meta http-equiv="refresh" content="0;url=https://evil.example">"#;
const SCRIPT: &str = "<script>alert(1)</script>";

/// A user and a product whose names try to leave the text they are put in.
fn hostile_csv(today: chrono::NaiveDate) -> String {
    let quote = |field: &str| format!("\"{}\"", field.replace('"', "\"\""));
    format!(
        "email,first name,last name,product,version,feature,usage date,tokens used\n\
         mallory@x.com,{},{},{},{},{},{today},10\n",
        quote(TITLE_BREAK),
        quote(&format!("O'Brien & \"Sons\" {SCRIPT}")),
        quote(&format!("Studio {TITLE_BREAK}")),
        quote(SCRIPT),
        quote(&format!("render & {TITLE_BREAK}")),
    )
}

async fn id_of(db: &Db, sql: &str, value: &str) -> String {
    match db.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar::<_, String>(sql).bind(value).fetch_one(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_scalar::<_, String>(sql).bind(value).fetch_one(p).await.unwrap(),
    }
}

/// The `<head>` of a page: exactly one title, and nothing injected beside it.
fn assert_head_is_intact(path: &str, html: &str) {
    let head = html.split("</head>").next().unwrap();
    assert_eq!(head.matches("<title>").count(), 1, "{path}: one <title> in {head}");
    assert_eq!(head.matches("</title>").count(), 1, "{path}: the title text closes nothing");
    assert!(!head.contains("<meta http-equiv"), "{path}: no injected <meta> in the head");
}

async fn imported_markup_stays_text_on_every_page(db: &Db) {
    let attacker = team(db, "attacker").await;
    let victim = team(db, "victim").await;
    let admin = accounts::upsert_admin(db, "victim@example.com", "long enough").await.unwrap();
    auth::grant_role(db, victim.id, admin.id, Role::Primary).await.unwrap();
    let csv = hostile_csv(victim.today());
    for t in [&attacker, &victim] {
        tokenboard::ingest::import::import_usage_csv(db, t, csv.as_bytes()).await.unwrap();
    }
    let product = id_of(db, "SELECT slug FROM products WHERE name LIKE $1", "Studio %").await;
    let user = id_of(
        db,
        "SELECT CAST(u.id AS TEXT) FROM team_users u JOIN teams t ON t.id = u.team_id WHERE t.slug = $1",
        "victim",
    )
    .await;
    let (_, headers, _) = call(db, login_request("victim@example.com", "long%20enough", "/")).await;
    let cookie = session_of(&headers);

    let pages = ["summary", "products", &format!("products/{product}"), "users", &format!("users/{user}"), "forecast"]
        .map(|page| format!("/teams/victim/{page}?range=7d"));
    for path in pages.iter().chain(&["/balances".to_owned()]) {
        let (status, _, html) = call(db, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_head_is_intact(path, &html);
        assert!(!html.contains(TITLE_BREAK) && !html.contains(SCRIPT), "{path} carries raw markup");
    }
    // The titles that name the product and the user still say so, escaped.
    let (_, _, html) = call(db, get(&pages[2], Some(&cookie))).await;
    assert!(html.contains("<title>Studio &lt;/title&gt;&lt;meta http-equiv=&quot;refresh"), "product title");
    let (_, _, html) = call(db, get(&pages[4], Some(&cookie))).await;
    assert!(html.contains("<title>&lt;/title&gt;&lt;meta"), "user title");
    assert!(html.contains("O&#x27;Brien &amp; &quot;Sons&quot;") || html.contains("O'Brien &amp; &quot;Sons&quot;"));
}

db_tests!(imported_markup_stays_text_on_every_page);
