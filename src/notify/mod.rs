//! What Tokenboard sends on its own: mail (outbox and SMTP), balance alerts,
//! scheduled exports and webhooks. May import `export`, `report`, `access`,
//! `domain`, `db`.

pub mod mail;
pub mod schedules;

#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod webhooks;
