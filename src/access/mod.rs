//! Who may see and change what: accounts and sessions, API keys, team admins,
//! login limits, set-password links, personal-data masking, team settings and
//! the audit log. Team settings and admins also write the mails and purge
//! the files their changes imply, in the same transaction (`notify`,
//! `export`).

pub mod audit;
pub mod settings;
pub mod team_admins;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod login_limits;
#[cfg(feature = "ssr")]
pub mod password_links;
#[cfg(feature = "ssr")]
pub mod personal_data;
