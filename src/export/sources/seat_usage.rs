//! The seat usage export: one row per user and product.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;

use super::{CHARGE_FILTER, ExportInput, ExportUsers, product_id, product_names};
use crate::db::{Db, on_db};
use crate::error::Result;
use crate::export::writers::{Cell, TableSink};
use crate::report::privacy::ShownUser;

/// One row per user and product: first and last day used in the range, days used.
pub(super) async fn seat_usage(
    db: &Db,
    input: &ExportInput,
    sink: &mut dyn TableSink,
    progress: &AtomicU64,
) -> Result<u64> {
    let users = ExportUsers::load(db, input).await?;
    let products = product_names(db).await?;
    let product = input.params.product.as_deref().map(|slug| product_id(&products, slug)).transpose()?;
    let sql = format!(
        "SELECT user_id, product_id, MIN(usage_date), MAX(usage_date), COUNT(DISTINCT usage_date)
         FROM usage_charges WHERE {CHARGE_FILTER} GROUP BY user_id, product_id"
    );
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64, NaiveDate, NaiveDate, i64)>(&sql)
        .bind(input.team.id)
        .bind(input.range.from)
        .bind(input.range.to)
        .bind(product.unwrap_or(-1))
        .bind(input.params.user.unwrap_or(-1))
        .fetch_all(pool)
        .await?);
    let mut seats: Vec<(&ShownUser, &str, NaiveDate, NaiveDate, i64)> = rows
        .iter()
        .filter(|(user, ..)| users.kept(*user))
        .filter_map(|&(user, product, first, last, days)| {
            let name = products.get(&product).map_or("", |(_, name)| name.as_str());
            Some((users.shown.get(&user)?, name, first, last, days))
        })
        .collect();
    seats.sort_by(|a, b| {
        (&a.0.last_name, &a.0.first_name, &a.0.email, a.1).cmp(&(&b.0.last_name, &b.0.first_name, &b.0.email, b.1))
    });
    sink.header(&["First name", "Last name", "Email", "Product", "First day used", "Last day used", "Days used"])?;
    for (user, product, first, last, days) in &seats {
        sink.row(&[
            Cell::Text(&user.first_name),
            Cell::Text(&user.last_name),
            Cell::Text(&user.email),
            Cell::Text(product),
            Cell::Date(*first),
            Cell::Date(*last),
            Cell::Int(*days),
        ])?;
    }
    progress.store(seats.len() as u64, Ordering::Relaxed);
    Ok(seats.len() as u64)
}
