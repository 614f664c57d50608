//! Cross-origin request protection (DESIGN §8), the rule of Go's
//! `http.CrossOriginProtection`, as one layer in front of every route and
//! server function. SameSite=Lax cookies do not stop a sibling subdomain or
//! another port of the same host; these headers do.
//!
//! - GET, HEAD and OPTIONS pass (they change nothing; the one-click export
//!   asks again itself, see `exports::confirmation`).
//! - `Sec-Fetch-Site: same-origin | none` passes; `same-site | cross-site` is 403.
//! - Without `Sec-Fetch-Site` (older browsers): an `Origin` that is one of
//!   this site's origins, or whose host:port is the request's `Host`, passes;
//!   any other `Origin` is 403.
//! - Neither header: not a browser (curl, scripts, the usage API) — passes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;

pub const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// This site's origins: `scheme://host[:port]`, lower case, default port left out.
#[derive(Clone, Debug)]
pub struct CrossOriginProtection {
    trusted: Arc<[String]>,
}

impl CrossOriginProtection {
    /// The origins of `TOKENBOARD_PUBLIC_URL` and of the listen address.
    pub fn new(config: &Config) -> Self {
        let listen = format!("http://{}", config.addr);
        let trusted = [config.public_url.as_str(), listen.as_str()].into_iter().filter_map(origin_of).collect();
        CrossOriginProtection { trusted }
    }

    /// `Err` with the reason when the request must be refused.
    pub fn check(&self, method: &Method, headers: &HeaderMap, uri: &Uri) -> Result<(), &'static str> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        match headers.get(SEC_FETCH_SITE).map(|v| v.as_bytes()) {
            Some(b"same-origin" | b"none") => return Ok(()),
            Some(_) => return Err("cross-origin request refused"),
            None => {}
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().ok().and_then(origin_of);
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or(uri.authority().map(|a| a.as_str()));
        match origin {
            Some(origin) if self.trusted.contains(&origin) => Ok(()),
            // Like Go: the Host header has no scheme, so http→https is not told apart.
            Some(origin) if host.is_some_and(|host| origin_host(&origin).eq_ignore_ascii_case(host)) => Ok(()),
            _ => Err("cross-origin request refused (Origin does not match)"),
        }
    }
}

/// `scheme://host[:port]` of a URL, lower case and without a default port.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?.as_str();
    // Credentials are no part of an origin.
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    Some(format!("{scheme}://{}", normalise_host(host, Some(&scheme))))
}

/// `host[:port]` lower case; with a scheme, its default port is left out.
fn normalise_host(host: &str, scheme: Option<&str>) -> String {
    let host = host.to_ascii_lowercase();
    let default_port = match scheme {
        Some("http") => Some(":80"),
        Some("https") => Some(":443"),
        _ => None,
    };
    match default_port {
        Some(port) if host.ends_with(port) => host[..host.len() - port.len()].to_owned(),
        _ => host,
    }
}

/// The `host[:port]` of an origin, as a `Host` header names it.
fn origin_host(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, host)| host)
}

/// The layer's function (`axum::middleware::from_fn_with_state`).
pub async fn protect(State(protection): State<CrossOriginProtection>, request: Request, next: Next) -> Response {
    match protection.check(request.method(), request.headers(), request.uri()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(method = %request.method(), path = request.uri().path(), reason, "request refused");
            (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], reason).into_response()
        }
    }
}

/// Whether a browser marked this request as coming from another site (a
/// link or form elsewhere): then a GET with an effect asks first.
pub fn from_another_site(headers: &HeaderMap) -> bool {
    matches!(headers.get(SEC_FETCH_SITE).map(|v| v.as_bytes()), Some(b"same-site" | b"cross-site"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protection() -> CrossOriginProtection {
        let mut config = crate::http::tests::config(1);
        config.addr = "127.0.0.1:3100".parse().unwrap();
        config.public_url = "https://Tokenboard.Example:443/base/".into();
        CrossOriginProtection::new(&config)
    }

    fn check(method: Method, headers: &[(&str, &str)]) -> Result<(), &'static str> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        protection().check(&method, &map, &Uri::from_static("/api/settings_save"))
    }

    #[test]
    fn the_rule_of_go_cross_origin_protection() {
        let ok = |headers: &[(&str, &str)]| assert!(check(Method::POST, headers).is_ok(), "{headers:?}");
        let refused = |headers: &[(&str, &str)]| assert!(check(Method::POST, headers).is_err(), "{headers:?}");
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(check(method, &[("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")]).is_ok());
        }
        ok(&[]);
        ok(&[("sec-fetch-site", "same-origin"), ("origin", "http://127.0.0.1:3100")]);
        ok(&[("sec-fetch-site", "none")]);
        refused(&[("sec-fetch-site", "same-site")]);
        refused(&[("sec-fetch-site", "cross-site"), ("origin", "https://tokenboard.example")]);
        refused(&[("sec-fetch-site", "garbage")]);
        // No Sec-Fetch-Site: the Origin decides.
        ok(&[("origin", "https://tokenboard.example")]);
        ok(&[("origin", "http://127.0.0.1:3100")]);
        ok(&[("origin", "http://localhost:3100"), ("host", "localhost:3100")]);
        refused(&[("origin", "http://localhost:3100"), ("host", "127.0.0.1:3100")]);
        refused(&[("origin", "https://evil.example")]);
        refused(&[("origin", "http://127.0.0.1:3101")]);
        refused(&[("origin", "https://sub.tokenboard.example")]);
        refused(&[("origin", "null")]);
    }
}
