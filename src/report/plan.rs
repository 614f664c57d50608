//! Which answerer serves a report, stated in one place: the usage index for
//! what needs users, else SQL over the narrowest table that holds the answer
//! (the product rollup, the version rollup, or the charges).

use crate::db::Db;
use crate::error::{Error, Result};
use crate::report::{Dimension, Filter, Metric, ReportQuery, ReportResult};

/// Largest page a report returns.
pub const MAX_PAGE: u32 = 1000;

/// Where a report's rows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answerer {
    /// The team's in-memory usage index (`report::index`).
    UsageIndex,
    /// SQL over one table (`report::sql`).
    Sql(Source),
}

/// The table a SQL answer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `daily_usage`: one row per team and day.
    TeamRollup,
    /// `daily_product_usage`: one row per team, day and product.
    Rollup,
    /// `daily_version_usage`: one row per team, day, product and version.
    VersionRollup,
    /// `usage_charges`: one row per charge.
    Charges,
}

/// The answerer of `q`.
pub fn answerer(q: &ReportQuery) -> Answerer {
    if index_answers(q) { Answerer::UsageIndex } else { Answerer::Sql(sql_source(q)) }
}

/// The index answers rows per user or per product, and totals, of the
/// metrics it keeps; products by themselves are answered faster by the
/// rollup, so it takes what needs users: distinct users, or rows per user.
fn index_answers(q: &ReportQuery) -> bool {
    let metrics_ok = q
        .metrics
        .iter()
        .all(|m| matches!(m, Metric::Tokens | Metric::Users | Metric::Products | Metric::UserDays | Metric::LastUsed));
    let dims_ok = matches!(q.dimensions.as_slice(), [] | [Dimension::User] | [Dimension::Product]);
    let filters_ok = q.filters.iter().all(|f| !matches!(f, Filter::ProductVersion(_)));
    let needs_users = q.metrics.contains(&Metric::Users)
        || q.dimensions.contains(&Dimension::User)
        || q.filters.iter().any(|f| matches!(f, Filter::User(_) | Filter::UserSearch(_)));
    metrics_ok && dims_ok && filters_ok && needs_users
}

/// The narrowest table that answers `q` in SQL.
pub fn sql_source(q: &ReportQuery) -> Source {
    // The team's daily totals answer tokens and charges over time (Summary).
    let team_dims_ok = q.dimensions.iter().all(|d| *d == Dimension::Time);
    let team_metrics_ok = q.metrics.iter().all(|m| matches!(m, Metric::Tokens | Metric::Charges));
    if team_dims_ok && q.filters.is_empty() && team_metrics_ok {
        return Source::TeamRollup;
    }
    let by_product =
        q.dimensions.contains(&Dimension::Product) || q.filters.iter().any(|f| matches!(f, Filter::Product(_)));
    let dims_ok = q.dimensions.iter().all(|d| matches!(d, Dimension::Time | Dimension::Product));
    let filters_ok = q.filters.iter().all(|f| matches!(f, Filter::Product(_)));
    // The rollup counts users per product and day: user-days add up only within one product.
    let metrics_ok = q.metrics.iter().all(|m| match m {
        Metric::Tokens | Metric::Charges | Metric::Products | Metric::LastUsed => true,
        Metric::UserDays => by_product,
        Metric::Users => false,
    });
    if dims_ok && filters_ok && metrics_ok {
        return Source::Rollup;
    }
    let version_dims_ok =
        q.dimensions.iter().all(|d| matches!(d, Dimension::Time | Dimension::Product | Dimension::ProductVersion));
    let version_filters_ok = q.filters.iter().all(|f| matches!(f, Filter::Product(_) | Filter::ProductVersion(_)));
    let version_metrics_ok =
        q.metrics.iter().all(|m| matches!(m, Metric::Tokens | Metric::Charges | Metric::Products | Metric::LastUsed));
    if version_dims_ok && version_filters_ok && version_metrics_ok { Source::VersionRollup } else { Source::Charges }
}

pub(crate) fn validate(q: &ReportQuery) -> Result<()> {
    if q.metrics.is_empty() {
        return Err(Error::Invalid("a report needs at least one metric".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if !q.dimensions.iter().all(|d| seen.insert(*d)) {
        return Err(Error::Invalid("a dimension may appear only once".into()));
    }
    if q.page.is_some_and(|p| p.limit == 0 || p.limit > MAX_PAGE) {
        return Err(Error::Invalid(format!("a page holds 1 to {MAX_PAGE} rows")));
    }
    Ok(())
}

/// Runs a report with its answerer. Every screen, export and alert comes here.
pub async fn run(db: &Db, q: &ReportQuery) -> Result<ReportResult> {
    validate(q)?;
    crate::report::memo::answer(db, q, compute(db, q)).await
}

/// Computes `q` (a valid query) with its answerer.
async fn compute(db: &Db, q: &ReportQuery) -> Result<ReportResult> {
    if answerer(q) == Answerer::UsageIndex
        && let Some(result) = crate::report::index::try_answer(db, q).await?
    {
        return Ok(result);
    }
    crate::report::sql::run_sql(db, q).await
}
