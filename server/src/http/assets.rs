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
pub fn pkg_service(site_root: &str, hashed_names: bool) -> MethodRouter {
    let files = ServeDir::new(std::path::Path::new(site_root).join("pkg")).precompressed_br().precompressed_gzip();
    let cache = HeaderValue::from_static(if hashed_names { IMMUTABLE } else { REVALIDATE });
    axum::routing::get_service(files).layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, cache))
}
