//! The build's static files under `/pkg` (wasm, JS, CSS): served with the
//! brotli or gzip twin the release build leaves beside each file
//! (`cargo leptos build --release --precompress`), as the browser's
//! `Accept-Encoding` allows. Their names carry a content hash
//! (`hash-files = true`), so caches keep them for a year and never ask
//! again; a build without hashes is revalidated instead.

use axum::http::{HeaderValue, header};
use axum::routing::MethodRouter;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";

/// The service of `/pkg`: `site_root/pkg`, precompressed where possible.
/// Only a file found is cacheable (a missing one may appear with the next
/// deploy), and caches keep one copy per `Accept-Encoding`.
pub fn pkg_service(site_root: &str, hashed_names: bool) -> MethodRouter {
    let files = ServeDir::new(std::path::Path::new(site_root).join("pkg")).precompressed_br().precompressed_gzip();
    let found = HeaderValue::from_static(if hashed_names { IMMUTABLE } else { REVALIDATE });
    let cache = move |response: &axum::http::Response<_>| {
        Some(if response.status().is_success() { found.clone() } else { HeaderValue::from_static("no-store") })
    };
    let service = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::appending(header::VARY, HeaderValue::from_static("accept-encoding")))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, cache))
        .service(files);
    axum::routing::get_service(service)
}

/// The stylesheet's path for pages written outside Leptos (the export
/// confirmation): its hashed name from the `hash.txt` that `cargo leptos`
/// leaves beside the binary, as `leptos_meta::HashedStylesheet` reads it.
pub fn stylesheet_href() -> &'static str {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        let name = option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tokenboard");
        let hash = (option_env!("LEPTOS_HASH_FILES") == Some("true"))
            .then(|| std::env::current_exe().ok()?.parent()?.join("hash.txt").canonicalize().ok())
            .flatten()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| {
                text.lines().find_map(|line| line.trim().strip_prefix("css:").map(|hash| hash.trim().to_owned()))
            });
        match hash {
            Some(hash) => format!("/pkg/{name}.{hash}.css"),
            None => format!("/pkg/{name}.css"),
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn fetch(
        site: &std::path::Path,
        hashed: bool,
        path: &str,
        accept: &str,
    ) -> (StatusCode, header::HeaderMap, Vec<u8>) {
        let app = axum::Router::new().nest_service("/pkg", pkg_service(site.to_str().unwrap(), hashed));
        let request = Request::get(path).header(header::ACCEPT_ENCODING, accept).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    /// Issue 13 item 9: the 1.9 MB wasm went out uncompressed and uncached.
    #[tokio::test]
    async fn the_build_files_go_out_precompressed_as_negotiated_and_cached_for_a_year() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        std::fs::write(pkg.join("tokenboard.3f2a.wasm"), b"\0asm plain").unwrap();
        std::fs::write(pkg.join("tokenboard.3f2a.wasm.br"), b"brotli twin").unwrap();
        std::fs::write(pkg.join("tokenboard.3f2a.wasm.gz"), b"gzip twin").unwrap();

        let (status, headers, body) = fetch(site.path(), true, "/pkg/tokenboard.3f2a.wasm", "gzip, deflate, br").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(body, b"brotli twin");
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[header::CACHE_CONTROL], IMMUTABLE);
        assert_eq!(headers[header::VARY], "accept-encoding");

        let (_, headers, body) = fetch(site.path(), true, "/pkg/tokenboard.3f2a.wasm", "gzip").await;
        assert_eq!((headers[header::CONTENT_ENCODING].to_str().unwrap(), body.as_slice()), ("gzip", &b"gzip twin"[..]));
        let (_, headers, body) = fetch(site.path(), true, "/pkg/tokenboard.3f2a.wasm", "identity").await;
        assert!(headers.get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body, b"\0asm plain");

        // A build without hashed names must be asked again.
        let (_, headers, _) = fetch(site.path(), false, "/pkg/tokenboard.3f2a.wasm", "br").await;
        assert_eq!(headers[header::CACHE_CONTROL], REVALIDATE);
        // Nothing outside pkg/, and a missing file is not kept.
        std::fs::write(site.path().join("secret"), b"not a build file").unwrap();
        let (status, _, body) = fetch(site.path(), true, "/pkg/../secret", "br").await;
        assert_ne!(status, StatusCode::OK);
        assert!(!body.starts_with(b"not a build"));
        let (status, headers, _) = fetch(site.path(), true, "/pkg/tokenboard.0000.wasm", "br").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
}
