//! Storing validated charges: users, products, versions and charges in one
//! transaction, then the rollups' refresh. Imports the database and the report rollups' SQL.

use std::collections::{HashMap, HashSet};

use super::{ChargeRow, ImportError, ImportOutcome};
use crate::db::{Db, on_db};

/// Rows per INSERT statement (SQLite allows 32,766 parameters).
const INSERT_BATCH: usize = 1000;

/// Writes validated charges in one transaction: unknown users, products and
/// versions are added, charges deduplicated on their natural key, and the
/// rollups of the touched days recomputed.
pub async fn store_charges(db: &Db, team_id: i64, rows: &[ChargeRow]) -> Result<ImportOutcome, ImportError> {
    let mut outcome = ImportOutcome { rows: rows.len() as u64, ..ImportOutcome::default() };
    if rows.is_empty() {
        return Ok(outcome);
    }
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;

        // Users: load the team's, add the new ones.
        let existing: Vec<(String, i64)> = sqlx::query_as("SELECT email, id FROM team_users WHERE team_id = $1")
            .bind(team_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut user_ids: HashMap<String, i64> = existing.into_iter().collect();
        let mut seen = HashSet::new();
        let new_users: Vec<&ChargeRow> =
            rows.iter().filter(|r| !user_ids.contains_key(&r.email) && seen.insert(r.email.as_str())).collect();
        for chunk in new_users.chunks(INSERT_BATCH) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO team_users (team_id, email, first_name, last_name) ");
            q.push_values(chunk, |mut b, r| {
                b.push_bind(team_id).push_bind(&r.email).push_bind(&r.first_name).push_bind(&r.last_name);
            });
            q.push(" RETURNING email, id");
            let inserted: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
            user_ids.extend(inserted);
        }
        outcome.new_users = new_users.len() as u64;

        // Products: match case-insensitively, add the unknown ones.
        let known: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT lower(name), slug, id FROM products").fetch_all(&mut *tx).await?;
        let mut slugs: HashSet<String> = known.iter().map(|(_, s, _)| s.clone()).collect();
        let mut product_ids: HashMap<String, i64> = known.into_iter().map(|(n, _, id)| (n, id)).collect();
        for row in rows {
            let key = row.product.to_lowercase();
            if product_ids.contains_key(&key) {
                continue;
            }
            let slug = crate::domain::products::unique_slug(&row.product, |s| slugs.contains(s));
            let id: i64 =
                sqlx::query_scalar("INSERT INTO products (slug, name, kind) VALUES ($1, $2, 'desktop') RETURNING id")
                    .bind(&slug)
                    .bind(&row.product)
                    .fetch_one(&mut *tx)
                    .await?;
            slugs.insert(slug);
            product_ids.insert(key, id);
            outcome.new_products.push(row.product.clone());
        }

        // Versions seen per product.
        let versions: HashSet<(i64, &str)> = rows
            .iter()
            .filter(|r| !r.product_version.is_empty())
            .map(|r| (product_ids[&r.product.to_lowercase()], r.product_version.as_str()))
            .collect();
        let versions: Vec<_> = versions.into_iter().collect();
        for chunk in versions.chunks(INSERT_BATCH) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO product_versions (product_id, version) ");
            q.push_values(chunk, |mut b, (product_id, version)| {
                b.push_bind(*product_id).push_bind(*version);
            });
            q.push(" ON CONFLICT (product_id, version) DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }

        // Charges, deduplicated on the natural key.
        for chunk in rows.chunks(INSERT_BATCH) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO usage_charges (team_id, user_id, product_id, product_version, feature, usage_date, tokens) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(team_id)
                    .push_bind(user_ids[&r.email])
                    .push_bind(product_ids[&r.product.to_lowercase()])
                    .push_bind(&r.product_version)
                    .push_bind(&r.feature)
                    .push_bind(r.usage_date)
                    .push_bind(r.tokens);
            });
            q.push(" ON CONFLICT (team_id, user_id, product_id, usage_date, feature) DO NOTHING");
            outcome.inserted += q.build().execute(&mut *tx).await?.rows_affected();
        }
        outcome.duplicates = outcome.rows - outcome.inserted;

        if outcome.inserted > 0 {
            let first = rows.iter().map(|r| r.usage_date).min().expect("rows is not empty");
            let last = rows.iter().map(|r| r.usage_date).max().expect("rows is not empty");
            for sql in crate::report::rollups::REFRESH_STATEMENTS {
                sqlx::query(sql).bind(team_id).bind(first).bind(last).execute(&mut *tx).await?;
            }
            sqlx::query(crate::report::rollups::BUMP_DATA_VERSION).bind(team_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok(outcome)
}
