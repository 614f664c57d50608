//! The core's integration tests, one binary (one link) for all: each module
//! runs its database tests on SQLite and on PostgreSQL (`db_tests!`).

mod accounts;
mod charges_by_team;
mod concurrency;
mod domain;
mod exports;
mod fuzz;
mod imports;
mod operations;
mod packs;
mod reports;
mod schema;
mod settings;
mod upgrade;
