//! Tokenboard core: the token domain shared by server and browser, and — with
//! the `ssr` feature — the database layer, import, demo data and reports.
//!
//! Everything outside the `ssr` modules compiles to wasm and must stay free of
//! server-only dependencies.

pub mod audit;
pub mod export;
pub mod forecast;
pub mod ledger;
pub mod mail;
pub mod model;
pub mod range;
pub mod report;
pub mod schedules;
pub mod settings;
pub mod team_admins;
pub mod values;
pub mod views;

#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod files;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod login_limits;
#[cfg(feature = "ssr")]
pub mod packs;
#[cfg(feature = "ssr")]
pub mod password_links;
#[cfg(feature = "ssr")]
pub mod personal_data;
#[cfg(feature = "ssr")]
pub mod products;
#[cfg(feature = "ssr")]
pub mod report_sql;
#[cfg(feature = "ssr")]
pub mod rollups;
#[cfg(feature = "ssr")]
pub mod screens;
#[cfg(feature = "ssr")]
pub mod summary;
#[cfg(feature = "ssr")]
pub mod teams;
#[cfg(feature = "ssr")]
pub mod testing;
#[cfg(feature = "ssr")]
pub mod usage_index;
#[cfg(feature = "ssr")]
pub mod webhooks;

#[cfg(feature = "ssr")]
pub use db::Db;
#[cfg(feature = "ssr")]
pub use error::Error;
