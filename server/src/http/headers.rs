//! Headers on every response (DESIGN §8): no framing, no MIME sniffing, no
//! referrer leaving the site, no plugins, forms only to us, no powerful
//! browser features, nothing stored by caches, and HTTPS only (HSTS) when the
//! site is served over HTTPS (secure cookies on). Pages replace the CSP with
//! their own, which adds the scripts of that response (`app::shell`).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const ALWAYS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        HeaderName::from_static("permissions-policy"),
        "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), \
         magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(), serial=(), usb=()",
    ),
];

/// A year; browsers then refuse plain HTTP to this host. Subdomains are not
/// included: they may be other people's sites.
const HSTS: &str = "max-age=31536000";

/// Static build output (wasm, JS, CSS) is the only thing caches may keep:
/// pages, server-function answers and export files carry team data.
const STATIC_PREFIX: &str = "/pkg/";

#[derive(Clone, Copy, Debug)]
pub struct SecurityHeaders {
    /// The site is served over HTTPS (`TOKENBOARD_SECURE_COOKIES`).
    pub https: bool,
}

/// The layer's function (`axum::middleware::from_fn_with_state`).
pub async fn add(State(config): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with(STATIC_PREFIX);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in ALWAYS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if !cacheable {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    if config.https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}
