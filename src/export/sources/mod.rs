//! The rows of each export. Breakdowns render the same [`ReportQuery`] as
//! their screen (so the file has exactly the rows and totals the view shows);
//! token usage streams raw charges from the database, one row per charge,
//! with the pack that paid for it.

mod charge_reader;
mod input;
mod seat_usage;
mod tables;
mod token_usage;

pub use input::ExportInput;
use seat_usage::seat_usage;
use tables::report_table;
pub use token_usage::TOKEN_USAGE_COLUMNS;
use token_usage::token_usage;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::{Db, on_db};
use crate::error::{Error, Result};
use crate::export::ExportReport;
use crate::export::writers::{Cell, TableSink};
use crate::report::plan::run;
use crate::report::privacy::ShownUser;
use crate::report::screens;
use crate::report::search::UserSearch;
use crate::report::{Dimension, Metric, ReportQuery};

/// Rows between two updates of the shared progress counter.
const PROGRESS_EVERY: u64 = 4096;

/// Rows the export will have, known before writing (for the CSV comment and
/// the progress bar).
pub async fn expected_rows(db: &Db, input: &ExportInput) -> Result<u64> {
    let count = match input.report {
        ExportReport::TokenUsage => {
            let mut query = ReportQuery::totals(input.team.id, input.range, &[Metric::Charges]);
            query.filters = input.filters();
            run(db, &query).await?.total(Metric::Charges).count()
        }
        // The others are computed whole before they are written.
        _ => return Ok(0),
    };
    Ok(count.max(0) as u64)
}

/// Writes the export's header and rows into `sink`; returns the rows written.
pub async fn write_rows(db: &Db, input: &ExportInput, sink: &mut dyn TableSink, progress: &AtomicU64) -> Result<u64> {
    input.validate()?;
    let rows = match input.report {
        ExportReport::TokenUsage => return token_usage(db, input, sink, progress).await,
        ExportReport::SeatUsage => return seat_usage(db, input, sink, progress).await,
        ExportReport::Summary => {
            let query =
                ReportQuery::totals(input.team.id, input.range, &[Metric::Tokens, Metric::Charges, Metric::Users])
                    .by(Dimension::Time);
            report_table(&run(db, &query).await?, input, sink)?
        }
        ExportReport::ByProduct => {
            let view = screens::products(db, &input.team, input.range, input.product_order()?).await?;
            report_table(&view.products, input, sink)?
        }
        ExportReport::Product => {
            let slug = input.params.product.as_deref().unwrap_or_default();
            screens::product_ref(db, slug).await?;
            let query = screens::product_users_query(input.team.id, input.range, slug);
            report_table(&run(db, &query).await?, input, sink)?
        }
        ExportReport::ByUser => {
            let table = input.user_table()?;
            report_table(
                &screens::user_table(db, &input.team, input.range, &table, &input.privacy, None).await?,
                input,
                sink,
            )?
        }
        ExportReport::User => {
            let user = input.params.user.unwrap_or_default();
            let view = screens::user_detail(db, &input.team, input.range, user, &input.privacy).await?;
            sink.header(&["Usage date", "Product", "Product version", "Feature", "Tokens used"])?;
            for charge in &view.charges {
                sink.row(&[
                    Cell::Date(charge.date),
                    Cell::Text(&charge.product),
                    Cell::Text(&charge.version),
                    Cell::Text(&charge.feature),
                    Cell::Int(charge.tokens),
                ])?;
            }
            view.charges.len() as u64
        }
    };
    progress.store(rows, Ordering::Relaxed);
    Ok(rows)
}

/// The team's users, read once for an export.
struct ExportUsers {
    /// As the export shows them, by id.
    shown: HashMap<i64, ShownUser>,
    /// With a search, the ids it finds (the rule of the screens); `None` without.
    searched: Option<HashSet<i64>>,
}

impl ExportUsers {
    async fn load(db: &Db, input: &ExportInput) -> Result<ExportUsers> {
        let sql = "SELECT id, first_name, last_name, email FROM team_users WHERE team_id = $1";
        let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String, String)>(sql)
            .bind(input.team.id)
            .fetch_all(pool)
            .await?);
        let searched = input.search().and_then(UserSearch::new).map(|search| {
            rows.iter()
                .filter(|(_, first, last, email)| search.matches(first, last, email))
                .map(|(id, ..)| *id)
                .collect()
        });
        let shown =
            rows.into_iter().map(|(id, first, last, email)| (id, input.privacy.show(id, first, last, email))).collect();
        Ok(ExportUsers { shown, searched })
    }

    /// Whether the view's search (if any) keeps this user.
    fn kept(&self, user_id: i64) -> bool {
        self.searched.as_ref().is_none_or(|searched| searched.contains(&user_id))
    }
}

async fn product_names(db: &Db) -> Result<HashMap<i64, (String, String)>> {
    let sql = "SELECT id, slug, name FROM products";
    let rows = on_db!(db, |pool| sqlx::query_as::<_, (i64, String, String)>(sql).fetch_all(pool).await?);
    Ok(rows.into_iter().map(|(id, slug, name)| (id, (slug, name))).collect())
}

fn product_id(products: &HashMap<i64, (String, String)>, slug: &str) -> Result<i64> {
    products
        .iter()
        .find(|(_, (s, _))| s == slug)
        .map(|(id, _)| *id)
        .ok_or_else(|| Error::NotFound(format!("product {slug:?}")))
}

/// The WHERE clause of raw-charge exports: team, range, and the view's
/// product and user (bound as $4 and $5; -1 means "any").
const CHARGE_FILTER: &str = "team_id = $1 AND usage_date BETWEEN $2 AND $3
     AND ($4 = -1 OR product_id = $4) AND ($5 = -1 OR user_id = $5)";
