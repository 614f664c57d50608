//! Test support: a fresh, migrated database per test, on SQLite (a temporary
//! file) or PostgreSQL (a new database on the test server, dropped afterwards).
//!
//! The PostgreSQL server is `TOKENBOARD_TEST_POSTGRES_URL` or
//! `postgres://postgres@127.0.0.1:5432/test`. When it does not answer, the
//! PostgreSQL half of a test is skipped — unless `CI` is set, where that is a
//! failure, so CI never passes by skipping.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::Db;

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("tb_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub struct TestDb {
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let db = Db::open(&format!("sqlite://{}", path.display())).await.expect("open test SQLite database");
        TestDb { db, cleanup: Cleanup::File(path) }
    }

    /// A fresh PostgreSQL database, or `None` when the server does not answer
    /// and `CI` is unset.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url =
            std::env::var("TOKENBOARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.into());
        let admin = match Db::connect(&admin_url).await.map(|db| db.pool().clone()) {
            Ok(crate::db::Pool::Postgres(pool)) => pool,
            Ok(_) => panic!("TOKENBOARD_TEST_POSTGRES_URL must be a postgres:// URL"),
            Err(e) if std::env::var_os("CI").is_some() => panic!("PostgreSQL at {admin_url} is required in CI: {e}"),
            Err(e) => {
                eprintln!("skipping the PostgreSQL half: {admin_url} does not answer ({e})");
                return None;
            }
        };
        let name = unique_name();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
        admin.close().await;
        let url = match admin_url.rfind('/') {
            Some(i) if admin_url[..i].contains('@') || admin_url[..i].ends_with(|c: char| c.is_ascii_digit()) => {
                format!("{}/{name}", &admin_url[..i])
            }
            _ => panic!("TOKENBOARD_TEST_POSTGRES_URL must name a database: {admin_url}"),
        };
        let db = Db::open(&url).await.expect("open test PostgreSQL database");
        Some(TestDb { db, cleanup: Cleanup::Database { admin_url, name } })
    }

    /// A database URL that opens this same database (for servers and CLIs under test).
    pub fn url(&self) -> String {
        match &self.cleanup {
            Cleanup::File(path) => format!("sqlite://{}", path.display()),
            Cleanup::Database { admin_url, name } => {
                let i = admin_url.rfind('/').expect("checked on creation");
                format!("{}/{name}", &admin_url[..i])
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                let _ = crate::db::files::remove_sqlite_database(path);
            }
            Cleanup::Database { admin_url, name } => {
                // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let pool = sqlx::PgPool::connect(&admin_url).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&pool)
                            .await
                            .ok()?;
                        pool.close().await;
                        Some(())
                    })
                })
                .join();
            }
        }
    }
}

/// Declares each listed `async fn name(db: &Db)` as two tests, `sqlite::name`
/// and `postgres::name`, each on a fresh database.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = $crate::db::testing::TestDb::sqlite().await;
                    super::$name(&test_db.db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(test_db) = $crate::db::testing::TestDb::postgres().await else { return };
                    super::$name(&test_db.db).await;
                }
            )*
        }
    };
}
