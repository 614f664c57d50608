//! The Imports page's upload route and the usage API with the vendor's
//! files, on SQLite and PostgreSQL: a plain form post lands on the import's
//! result, the page's script reads progress lines, an upload past the limit
//! or from a secondary admin changes nothing, the API takes `.xlsx` and
//! `date_format`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::access::{accounts, api_keys, auth};
use tokenboard::domain::model::Role;
use tokenboard::ingest::import::{ImportSource, ImportStatus, list_imports};
use tokenboard::{Db, db_tests, on_db};

use super::tests::{config, login_request, router, session_of, team};

const CSV: &str = "Email;Product;Day used;Tokens\nann@x.com;Revit;2.11.2026;10\nbob@x.com;Maya;3.11.2026;5\n";

async fn send(db: &Db, max_upload: usize, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router(db, &config(max_upload)).oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn login(db: &Db, email: &str) -> String {
    let (_, headers, _) = send(db, 4096, login_request(email, "long%20enough", "/")).await;
    session_of(&headers)
}

fn multipart(file_name: &str, file: &[u8], date_format: &str) -> Vec<u8> {
    let mut body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"date_format\"\r\n\r\n{date_format}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    body
}

fn upload(team: &str, cookie: &str, accept: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("/teams/{team}/imports/upload"))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(Body::from(body))
        .unwrap()
}

async fn charges(db: &Db, team_id: i64) -> i64 {
    on_db!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM usage_charges WHERE team_id = $1")
        .bind(team_id)
        .fetch_one(p)
        .await
        .unwrap())
}

async fn admins(db: &Db, team_id: i64) -> (String, String) {
    for (email, role) in [("primary@example.com", Role::Primary), ("secondary@example.com", Role::Secondary)] {
        let admin = accounts::upsert_admin(db, email, "long enough").await.unwrap();
        auth::grant_role(db, team_id, admin.id, role).await.unwrap();
    }
    (login(db, "primary@example.com").await, login(db, "secondary@example.com").await)
}

async fn a_plain_form_post_imports_and_lands_on_the_result(db: &Db) {
    let t = team(db, "design").await;
    let (primary, _) = admins(db, t.id).await;
    tokenboard::report::index::warm(db, t.id).await.unwrap();
    let before = tokenboard::report::index::cached_version(db, t.id).unwrap();
    let (status, headers, body) =
        send(db, 1 << 20, upload("design", &primary, "text/html", multipart("vendor.csv", CSV.as_bytes(), ""))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // The usage index follows the import on its own: the next view does not wait for it.
    let now = tokenboard::domain::teams::data_version(db, t.id).await.unwrap();
    assert!(now > before);
    let mut waited = 0;
    while tokenboard::report::index::cached_version(db, t.id) != Some(now) && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(tokenboard::report::index::cached_version(db, t.id), Some(now), "the index after the upload");
    let history = list_imports(db, t.id, 10).await.unwrap();
    let location = headers[header::LOCATION].to_str().unwrap();
    assert_eq!(location, format!("/teams/design/imports?import={}", history[0].id));
    assert_eq!((history[0].source, history[0].actor.as_str()), (ImportSource::Upload, "primary@example.com"));
    assert_eq!((history[0].file_name.as_str(), history[0].inserted), ("vendor.csv", 2));
    assert_eq!(charges(db, t.id).await, 2);

    // The page shows the result: counts and the file name.
    let page = Request::get(location).header(header::COOKIE, &primary).header(header::ACCEPT, "text/html");
    let (status, _, html) = send(db, 1 << 20, page.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-count=\"inserted\">2<"), "{html:.2000}");

    // A rejected file: nothing written, the page lists the bad line.
    let bad = "Email,Product,Usage date,Tokens used\ncy@x.com,Revit,2026-11-02,-4\n";
    let (status, headers, _) =
        send(db, 1 << 20, upload("design", &primary, "text/html", multipart("bad.csv", bad.as_bytes(), ""))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    let page = Request::get(&location).header(header::COOKIE, &primary).header(header::ACCEPT, "text/html");
    let (_, _, html) = send(db, 1 << 20, page.body(Body::empty()).unwrap()).await;
    assert!(html.contains("negative tokens"), "{html:.2000}");
    assert_eq!(charges(db, t.id).await, 2);
    assert_eq!(list_imports(db, t.id, 10).await.unwrap()[0].status, ImportStatus::Rejected);
}

async fn the_script_reads_progress_lines_then_the_result(db: &Db) {
    let t = team(db, "design").await;
    let (primary, _) = admins(db, t.id).await;
    let (status, headers, body) = send(
        db,
        1 << 20,
        upload("design", &primary, "application/x-ndjson", multipart("vendor.csv", CSV.as_bytes(), "D/M/YYYY")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "{body}");
    assert_eq!(lines[0]["rows"], 2);
    assert_eq!(lines[0]["total"].as_u64(), Some(CSV.len() as u64));
    let last = lines.last().unwrap();
    assert_eq!(last["status"], "done");
    assert_eq!(last["import_id"].as_i64(), Some(list_imports(db, t.id, 1).await.unwrap()[0].id));
}

async fn uploads_past_the_limit_or_by_a_secondary_admin_change_nothing(db: &Db) {
    let t = team(db, "design").await;
    let (primary, secondary) = admins(db, t.id).await;
    let big = CSV.repeat(50);
    let (status, _, body) =
        send(db, 1024, upload("design", &primary, "application/x-ndjson", multipart("big.csv", big.as_bytes(), "")))
            .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("upload limit"), "{body}");
    let (status, ..) =
        send(db, 1 << 20, upload("design", &secondary, "text/html", multipart("u.csv", CSV.as_bytes(), ""))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) =
        send(db, 1 << 20, upload("design", &primary, "text/html", multipart("u.csv", CSV.as_bytes(), "Y/D/M"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown date format is refused");
    // Another site's form cannot post here (DESIGN §8).
    let mut request = upload("design", &primary, "text/html", multipart("u.csv", CSV.as_bytes(), ""));
    request.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let (status, ..) = send(db, 1 << 20, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(charges(db, t.id).await, 0);
    assert!(list_imports(db, t.id, 10).await.unwrap().is_empty());
}

async fn the_api_takes_workbooks_and_a_date_format(db: &Db) {
    let t = team(db, "design").await;
    let key = api_keys::create_api_key(db, t.id, "nightly").await.unwrap();
    let post = |query: &str, body: Vec<u8>| {
        Request::post(format!("/api/v1/teams/design/usage{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::from(body))
            .unwrap()
    };
    let workbook = include_bytes!("../../../tests/fixtures/vendor-usage.xlsx").to_vec();
    let (status, _, body) = send(db, 1 << 20, post("?file_name=vendor.xlsx", workbook)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((json["inserted"].as_u64(), json["updated"].as_u64()), (Some(6), Some(0)));
    let history = list_imports(db, t.id, 1).await.unwrap();
    assert_eq!((history[0].actor.as_str(), history[0].file_name.as_str()), ("API key nightly", "vendor.xlsx"));

    let us = b"Email,Product,Date,Tokens\nz@x.com,Revit,3/4/2026,1\n".to_vec();
    let (status, _, body) = send(db, 1 << 20, post("", us.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("--date-format"), "{body}");
    let (status, _, body) = send(db, 1 << 20, post("?date_format=M/D/YYYY", us)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(db, 64, post("", CSV.repeat(10).into_bytes())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

/// With personal data off, a rejected line's quoted values are masked, in
/// the page and in the data it hydrates from.
async fn bad_lines_mask_their_values_while_personal_data_is_off(db: &Db) {
    let t = team(db, "design").await;
    let (primary, _) = admins(db, t.id).await;
    let bad = "Email,Product,Usage date,Tokens used\nsecret.person@x.com\u{7},Revit,2026-11-02,1\n";
    let (status, headers, _) =
        send(db, 1 << 20, upload("design", &primary, "text/html", multipart("bad.csv", bad.as_bytes(), ""))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    let page = |cookie: &str| {
        Request::get(&location).header(header::COOKIE, cookie).header(header::ACCEPT, "text/html").body(Body::empty())
    };
    let (_, _, html) = send(db, 1 << 20, page(&primary).unwrap()).await;
    assert!(html.contains("secret.person@x.com"), "names shown while personal data is on");
    on_db!(db, |p| sqlx::query("UPDATE teams SET personal_data = FALSE WHERE id = $1")
        .bind(t.id)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
    let (status, _, html) = send(db, 1 << 20, page(&primary).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("secret.person"), "{html:.3000}");
    assert!(html.contains("contains a control character"));
}

db_tests!(
    bad_lines_mask_their_values_while_personal_data_is_off,
    a_plain_form_post_imports_and_lands_on_the_result,
    the_script_reads_progress_lines_then_the_result,
    uploads_past_the_limit_or_by_a_secondary_admin_change_nothing,
    the_api_takes_workbooks_and_a_date_format,
);
