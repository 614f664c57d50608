//! The product catalogue: products, their token-rate history and versions.

use chrono::NaiveDate;

use crate::db::{Db, Pool, on_db};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductKind {
    /// Charged at most once per user and day.
    Desktop,
    /// Charged per use (cloud services such as rendering).
    Service,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Desktop => "desktop",
            ProductKind::Service => "service",
        }
    }
}

/// Minimum session length that is charged; shorter sessions cost 0 tokens.
pub const MIN_CHARGED_SESSION_MINUTES: u32 = 5;

/// Tokens for one day's use of a desktop product at `tokens_per_day`.
pub fn tokens_for_session(tokens_per_day: i64, session_minutes: u32) -> i64 {
    if session_minutes < MIN_CHARGED_SESSION_MINUTES { 0 } else { tokens_per_day }
}

/// The rate in force on `date` from a rate history of
/// `(effective_from, tokens_per_day)`, or `None` before the first entry.
pub fn rate_on(history: &[(NaiveDate, i64)], date: NaiveDate) -> Option<i64> {
    history.iter().filter(|(from, _)| *from <= date).max_by_key(|(from, _)| *from).map(|(_, r)| *r)
}

/// A product name as names are compared: trimmed, and case-folded by
/// Unicode's full folding, in Rust for every backend (`Éclair` = `ÉCLAIR`,
/// `Straße` = `STRASSE`). The one rule of every product lookup.
pub fn name_key(name: &str) -> unicase::UniCase<String> {
    unicase::UniCase::unicode(name.trim().to_owned())
}

/// "Civil 3D" -> "civil-3d".
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() { "product".into() } else { slug }
}

/// The slug of `name`, numbered ("revit-2", "revit-3", …) past those `taken`.
pub fn unique_slug(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = slugify(name);
    (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
        .find(|s| !taken(s))
        .expect("an unused slug exists")
}

/// Returns the id of the product named `name` (case-insensitive), adding it
/// when unknown; the bool says whether it was added.
pub async fn ensure_product(db: &Db, name: &str, kind: ProductKind) -> Result<(i64, bool)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("product name must not be empty".into()));
    }
    // The catalogue is shared by every team: one long name slows them all.
    crate::domain::values::check_text("product name", name, crate::domain::values::MAX_PRODUCT_CHARS)
        .map_err(Error::Invalid)?;
    let key = name_key(name);
    let insert = "INSERT INTO products (slug, name, kind) VALUES ($1, $2, $3) RETURNING id";
    let found = on_db!(db, |pool| {
        let (_turn, mut tx) = db.write_transaction(pool).await?;
        if let Some(lock) = lock_catalogue(db) {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        let known: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, slug FROM products ORDER BY id").fetch_all(&mut *tx).await?;
        match known.iter().find(|(_, known, _)| name_key(known) == key) {
            Some((id, _, _)) => (*id, false),
            None => {
                let slug = unique_slug(name, |s| known.iter().any(|(_, _, taken)| taken == s));
                let id: i64 =
                    sqlx::query_scalar(insert).bind(&slug).bind(name).bind(kind.as_str()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                (id, true)
            }
        }
    });
    Ok(found)
}

/// The statement that makes additions to the shared catalogue (products and
/// their versions) take turns on PostgreSQL — two teams' imports naming the
/// same new product at once would otherwise both insert it, and one fail on
/// the unique name. `None` on SQLite, whose write transaction already
/// excludes every other writer. Taken after a team's lock, never before it.
pub(crate) fn lock_catalogue(db: &Db) -> Option<&'static str> {
    match db.pool() {
        Pool::Postgres(_) => Some("SELECT pg_advisory_xact_lock(7305001)"),
        Pool::Sqlite(_) => None,
    }
}

pub async fn set_rate(db: &Db, product_id: i64, effective_from: NaiveDate, tokens_per_day: i64) -> Result<()> {
    if tokens_per_day < 0 {
        return Err(Error::Invalid("a token rate must not be negative".into()));
    }
    let sql = "INSERT INTO product_rates (product_id, effective_from, tokens_per_day) VALUES ($1, $2, $3)
               ON CONFLICT (product_id, effective_from) DO UPDATE SET tokens_per_day = excluded.tokens_per_day";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(product_id)
        .bind(effective_from)
        .bind(tokens_per_day)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn rate_history(db: &Db, product_id: i64) -> Result<Vec<(NaiveDate, i64)>> {
    let sql = "SELECT effective_from, tokens_per_day FROM product_rates WHERE product_id = $1 ORDER BY effective_from";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, (NaiveDate, i64)>(sql).bind(product_id).fetch_all(pool).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_in_force_is_the_latest_effective_on_or_before_the_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let history = [(d("2025-01-01"), 7), (d("2026-02-01"), 9)];
        assert_eq!(rate_on(&history, d("2024-12-31")), None);
        assert_eq!(rate_on(&history, d("2026-01-31")), Some(7));
        assert_eq!(rate_on(&history, d("2026-02-01")), Some(9));
    }

    #[test]
    fn short_sessions_cost_nothing() {
        assert_eq!(tokens_for_session(10, 4), 0);
        assert_eq!(tokens_for_session(10, 5), 10);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Civil 3D"), "civil-3d");
        assert_eq!(slugify("  AutoCAD — LT "), "autocad-lt");
        assert_eq!(unique_slug("Revit", |s| s == "revit" || s == "revit-2"), "revit-3");
    }
}
