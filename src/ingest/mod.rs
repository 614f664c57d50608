//! How usage gets in: the vendor's CSV import and the demo generator.
//! May import `domain`, `report::rollups` and `db`; every write refreshes
//! the rollups and bumps the team's data version in its own transaction.

pub mod bench;
pub mod demo;
pub mod import;
