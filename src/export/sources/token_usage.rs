//! The token usage export: one row per charge, streamed in date order, with
//! the pack that paid for it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;

use super::charge_reader::{postgres_charges, sqlite_charges};
use super::{CHARGE_FILTER, ExportInput, ExportUsers, PROGRESS_EVERY, product_id, product_names};
use crate::db::{Db, Pool, on_db};
use crate::domain::ledger::DayDraw;
use crate::error::{Error, Result};
use crate::export::writers::{Cell, TableSink};

/// Which pack paid for each charge: a day paid by one pack names it for all
/// its charges; on a day that switched packs, charges draw in id order.
struct PackLabels {
    by_day: HashMap<NaiveDate, String>,
    by_charge: HashMap<i64, String>,
}

fn pack_label(pack_id: Option<i64>) -> String {
    pack_id.map_or_else(|| "overdraft".to_owned(), |id| format!("#{id}"))
}

impl PackLabels {
    async fn load(db: &Db, input: &ExportInput) -> Result<PackLabels> {
        let ledger = crate::domain::packs::ledger(db, input.team.id, input.range.to.max(input.team.today())).await?;
        let mut labels = PackLabels { by_day: HashMap::new(), by_charge: HashMap::new() };
        let in_range = ledger.day_draws.iter().filter(|d| d.date >= input.range.from && d.date <= input.range.to);
        for DayDraw { date, parts } in in_range {
            match parts.as_slice() {
                [only] => {
                    labels.by_day.insert(*date, pack_label(only.pack_id));
                }
                parts => {
                    let sql = "SELECT id, tokens FROM usage_charges WHERE team_id = $1 AND usage_date = $2 ORDER BY id";
                    let charges = on_db!(db, |pool| sqlx::query_as::<_, (i64, i64)>(sql)
                        .bind(input.team.id)
                        .bind(*date)
                        .fetch_all(pool)
                        .await?);
                    let mut parts = parts.iter().copied().peekable();
                    let mut left_in_part = parts.peek().map_or(0, |p| p.tokens);
                    for (id, mut tokens) in charges {
                        let mut names = Vec::new();
                        while tokens > 0 {
                            let Some(part) = parts.peek().copied() else { break };
                            names.push(pack_label(part.pack_id));
                            let take = tokens.min(left_in_part);
                            tokens -= take;
                            left_in_part -= take;
                            if left_in_part == 0 {
                                parts.next();
                                left_in_part = parts.peek().map_or(0, |p| p.tokens);
                            }
                        }
                        labels.by_charge.insert(id, names.join("+"));
                    }
                }
            }
        }
        Ok(labels)
    }

    fn get(&self, id: i64, date: NaiveDate, tokens: i64) -> &str {
        if tokens == 0 {
            return "";
        }
        self.by_charge.get(&id).or_else(|| self.by_day.get(&date)).map_or("", String::as_str)
    }
}

pub const TOKEN_USAGE_COLUMNS: [&str; 10] = [
    "Team",
    "First name",
    "Last name",
    "Email",
    "Product",
    "Product version",
    "Feature",
    "Usage date",
    "Tokens used",
    "Pack",
];

/// One charge as the database holds it.
pub(super) struct Charge<'a> {
    pub(super) id: i64,
    pub(super) user_id: i64,
    pub(super) product_id: i64,
    pub(super) version: &'a str,
    pub(super) feature: &'a str,
    pub(super) date: NaiveDate,
    pub(super) tokens: i64,
}

/// Turns charges into token-usage rows: names, product, pack.
struct TokenUsageWriter<'a> {
    input: &'a ExportInput,
    users: ExportUsers,
    products: HashMap<i64, (String, String)>,
    packs: PackLabels,
    sink: &'a mut dyn TableSink,
    progress: &'a AtomicU64,
    written: u64,
}

impl TokenUsageWriter<'_> {
    fn write(&mut self, charge: Charge<'_>) -> Result<()> {
        if !self.users.kept(charge.user_id) {
            return Ok(());
        }
        let user =
            self.users.shown.get(&charge.user_id).ok_or_else(|| Error::NotFound(format!("user {}", charge.user_id)))?;
        let product_name = self.products.get(&charge.product_id).map_or("", |(_, name)| name.as_str());
        self.sink.row(&[
            Cell::Text(&self.input.team.name),
            Cell::Text(&user.first_name),
            Cell::Text(&user.last_name),
            Cell::Text(&user.email),
            Cell::Text(product_name),
            Cell::Text(charge.version),
            Cell::Text(charge.feature),
            Cell::Date(charge.date),
            Cell::Int(charge.tokens),
            Cell::Text(self.packs.get(charge.id, charge.date, charge.tokens)),
        ])?;
        self.written += 1;
        if self.written.is_multiple_of(PROGRESS_EVERY) {
            self.progress.store(self.written, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// One row per charge, streamed in date order.
pub(super) async fn token_usage(
    db: &Db,
    input: &ExportInput,
    sink: &mut dyn TableSink,
    progress: &AtomicU64,
) -> Result<u64> {
    let products = product_names(db).await?;
    let product = input.params.product.as_deref().map(|slug| product_id(&products, slug)).transpose()?;
    let mut writer = TokenUsageWriter {
        input,
        users: ExportUsers::load(db, input).await?,
        products,
        packs: PackLabels::load(db, input).await?,
        sink,
        progress,
        written: 0,
    };
    writer.sink.header(&TOKEN_USAGE_COLUMNS)?;

    let sql = format!(
        "SELECT id, user_id, product_id, product_version, feature, usage_date, tokens FROM usage_charges
         WHERE {CHARGE_FILTER} ORDER BY usage_date, user_id, product_id, id"
    );
    let binds =
        (input.team.id, input.range.from, input.range.to, product.unwrap_or(-1), input.params.user.unwrap_or(-1));
    match db.pool() {
        Pool::Sqlite(pool) => {
            let file = pool.connect_options().get_filename().to_owned();
            sqlite_charges(&file, &sql, binds, |charge| writer.write(charge))?;
        }
        Pool::Postgres(pool) => postgres_charges(pool, &sql, binds, |charge| writer.write(charge)).await?,
    }
    progress.store(writer.written, Ordering::Relaxed);
    Ok(writer.written)
}
