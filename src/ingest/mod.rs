//! How usage gets in: the vendor's CSV import and the demo generator.

pub mod demo;
pub mod import;
