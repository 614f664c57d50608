//! `/healthz`, `/readyz` and `/metrics` through the real router, on SQLite
//! and PostgreSQL: readiness follows the database, its migrations and the
//! index warm-up; metrics count requests by route template and are only for
//! this machine or the metrics token.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use tokenboard::{Db, db_tests, on_db};

use super::ops::Warmth;
use super::tests::config;
use crate::config::Config;

async fn call(db: &Db, cfg: &Config, warmth: Warmth, request: Request<Body>) -> (StatusCode, String) {
    let router = super::router_with(super::app_state(db.clone(), cfg).unwrap(), cfg, warmth);
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn from(peer: &str, path: &str) -> axum::http::request::Builder {
    let mut builder = Request::get(path);
    builder.extensions_mut().unwrap().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    builder
}

async fn readiness_follows_the_database_the_migrations_and_the_warm_up(db: &Db) {
    let cfg = config(4096);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    assert_eq!(call(db, &cfg, Warmth::warm(), get("/healthz")).await, (StatusCode::OK, "ok\n".to_owned()));

    let (status, body) = call(db, &cfg, Warmth::warm(), get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["migrations"], "current");
    assert_eq!(ready["database"], "ok");

    // Still building the usage indexes: not ready yet, then ready.
    let warmth = Warmth::default();
    let (status, body) = call(db, &cfg, warmth.clone(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("\"usage_index\":\"warming\""), "{body}");
    warmth.set_warm();
    assert_eq!(call(db, &cfg, warmth, get("/readyz")).await.0, StatusCode::OK);

    // A migration this release has and the database lacks.
    let newest = "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    on_db!(db, |p| sqlx::query(newest).execute(p).await.unwrap().rows_affected());
    let (status, body) = call(db, &cfg, Warmth::warm(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("\"migrations\":\"1 pending\""), "{body}");
}

async fn metrics_count_by_route_template_for_this_machine_only(db: &Db) {
    let mut cfg = config(4096);
    // Requests to count: a page by its template, whatever the team.
    for team in ["alpha", "beta"] {
        let path = format!("/teams/{team}/exports/7/download");
        call(db, &cfg, Warmth::warm(), from("127.0.0.1:5000", &path).body(Body::empty()).unwrap()).await;
    }
    let scrape = |builder: axum::http::request::Builder| builder.body(Body::empty()).unwrap();
    let (status, text) = call(db, &cfg, Warmth::warm(), scrape(from("127.0.0.1:5000", "/metrics"))).await;
    assert_eq!(status, StatusCode::OK);
    let downloads = text
        .lines()
        .find(|l| {
            l.starts_with("tokenboard_http_requests_total{")
                && l.contains("route=\"/teams/{team}/exports/{id}/download\"")
        })
        .unwrap_or_else(|| panic!("no download series in\n{text}"));
    let count: f64 = downloads.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2.0, "{downloads}");
    assert!(!text.contains("alpha") && !text.contains("beta"), "a path's values are never labels");
    assert!(text.contains("tokenboard_http_request_duration_seconds_bucket{"), "latency histogram");
    assert!(text.contains("tokenboard_export_jobs{state=\"queued\"}"), "export jobs by state");

    // Not for others: another machine, a request a proxy forwarded, an
    // admin's cookie — 404, as if there were nothing.
    let outside = call(db, &cfg, Warmth::warm(), scrape(from("203.0.113.9:5000", "/metrics"))).await;
    assert_eq!(outside.0, StatusCode::NOT_FOUND);
    let forwarded = from("127.0.0.1:5000", "/metrics").header("x-forwarded-for", "203.0.113.9");
    assert_eq!(call(db, &cfg, Warmth::warm(), scrape(forwarded)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(db, &cfg, Warmth::warm(), scrape(Request::get("/metrics"))).await.0, StatusCode::NOT_FOUND);

    // With a token: whoever shows it, and only them.
    cfg.metrics_token = Some("scrape-me-42".into());
    let wrong = from("203.0.113.9:5000", "/metrics").header(header::AUTHORIZATION, "Bearer scrape-me-43");
    assert_eq!(call(db, &cfg, Warmth::warm(), scrape(wrong)).await.0, StatusCode::NOT_FOUND);
    let right = from("203.0.113.9:5000", "/metrics").header(header::AUTHORIZATION, "Bearer scrape-me-42");
    assert_eq!(call(db, &cfg, Warmth::warm(), scrape(right)).await.0, StatusCode::OK);
}

db_tests!(
    readiness_follows_the_database_the_migrations_and_the_warm_up,
    metrics_count_by_route_template_for_this_machine_only,
);
