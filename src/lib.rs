//! Tokenboard core: the token domain shared by server and browser, and — with
//! the `ssr` feature — the database layer, reports, import, exports, access
//! control and notifications. ARCHITECTURE.md maps the folders.
//!
//! Everything outside the `ssr` modules compiles to wasm and must stay free of
//! server-only dependencies.

pub mod access;
pub mod domain;
pub mod export;
pub mod notify;
pub mod report;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod ingest;

#[cfg(feature = "ssr")]
pub use db::Db;
#[cfg(feature = "ssr")]
pub use error::Error;
