//! For the people who run Tokenboard: `/healthz` (the process answers),
//! `/readyz` (the database answers, its migrations are current, the usage
//! indexes are warm: a load balancer sends traffic) and `/metrics`
//! (Prometheus text). `/metrics` answers loopback callers that no proxy
//! forwarded, or any caller with the bearer token of
//! `TOKENBOARD_METRICS_TOKEN`; everyone else gets 404, as if it were not there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use app::session::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Whether the usage indexes of every team were built since the start: set
/// by `serve` when its warm-up ends (a router without it is ready at once).
#[derive(Clone, Default)]
pub struct Warmth(Arc<AtomicBool>);

impl Warmth {
    #[cfg(test)]
    pub fn warm() -> Warmth {
        Warmth(Arc::new(AtomicBool::new(true)))
    }

    pub fn set_warm(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_warm(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Who may read `/metrics` besides loopback callers.
#[derive(Clone)]
pub struct MetricsAccess {
    pub token: Option<String>,
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
}

/// The process's one Prometheus recorder (the `metrics` facade is global).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder was installed first (never here).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when every check passes, else 503; the body names each check.
pub async fn readyz(State(state): State<AppState>, Extension(warmth): Extension<Warmth>) -> Response {
    let database = match state.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            "unreachable".to_owned()
        }
    };
    let migrations = match (state.db.refuse_newer().await, state.db.pending_migrations().await) {
        (Err(tokenboard::Error::NewerDatabase(version)), _) => format!("newer than this release ({version})"),
        (_, Ok(pending)) if pending.is_empty() => "current".to_owned(),
        (_, Ok(pending)) => format!("{} pending", pending.len()),
        (_, Err(_)) => "unknown".to_owned(),
    };
    let usage_index = if warmth.is_warm() { "warm" } else { "warming" };
    let ready = database == "ok" && migrations == "current" && warmth.is_warm();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "ready": ready, "database": database, "migrations": migrations, "usage_index": usage_index,
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(
    State(state): State<AppState>,
    Extension(access): Extension<MetricsAccess>,
    request: axum::http::request::Parts,
) -> Response {
    let peer = request.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !may_read_metrics(&access, peer, &request.headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    // Export jobs by state, read when scraped (several servers share them).
    match tokenboard::export::history::count_by_status(&state.db).await {
        Ok(counts) => {
            for (status, count) in counts {
                metrics::gauge!("tokenboard_export_jobs", "state" => status.as_str()).set(count as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count export jobs"),
    }
    let text = prometheus().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// A bearer token equal to the configured one, or a loopback peer whose
/// request no proxy forwarded (a proxy on this machine would make every
/// outside caller look local).
fn may_read_metrics(access: &MetricsAccess, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(token), Some(given)) = (&access.token, bearer) {
        return constant_time_eq(token.as_bytes(), given.trim().as_bytes());
    }
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|h| headers.contains_key(*h))
        || access.trusted_proxy_header.as_ref().is_some_and(|h| headers.contains_key(h));
    peer.is_some_and(|p| p.ip().is_loopback()) && !forwarded
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts every request and times it, by method, route template (never the
/// path itself: `/teams/{team}/users/{id}` is one series, whatever the ids)
/// and status.
pub async fn record_request(request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str(),
        // The build files are a nested service: one series for all of them.
        None if request.uri().path().starts_with("/pkg/") => "/pkg/{file}",
        None => "unmatched",
    }
    .to_owned();
    // Any token is a method to hyper: an unknown one is "OTHER", so a caller
    // cannot mint new series.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "OTHER".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("tokenboard_http_requests_total", &labels).increment(1);
    metrics::histogram!("tokenboard_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}
