//! Who may see and change what: accounts and sessions, API keys, the
//! authorisation check, team admins, login limits, set-password links,
//! team settings, erasing a person and the audit log. Team settings and admins also write the
//! mails and purge the files their changes imply, in the same transaction
//! (`notify`, `export`).

pub mod audit;
pub mod settings;
pub mod team_admins;

#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod api_keys;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod erasure;
#[cfg(feature = "ssr")]
pub mod login_limits;
#[cfg(feature = "ssr")]
pub mod password_links;
#[cfg(feature = "ssr")]
pub(crate) mod secrets;
#[cfg(feature = "ssr")]
pub mod sessions;
