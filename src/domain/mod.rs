//! The token domain: teams, products, packs, the ledger that charges usage to
//! packs, date ranges and the forecast. The pure rules compile to wasm; the
//! `ssr` modules read and write their tables. May import `db` only.

pub mod forecast;
pub mod imports;
pub mod ledger;
pub mod model;
pub mod outlook;
pub mod range;
pub mod values;

#[cfg(feature = "ssr")]
pub mod packs;
#[cfg(feature = "ssr")]
pub mod products;
#[cfg(feature = "ssr")]
pub mod teams;
