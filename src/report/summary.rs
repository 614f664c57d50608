//! The Summary tab's numbers (DESIGN §3.2): today's balance and usage, recent
//! token events, and the selected range's totals and time series — all
//! through the report pipeline, like every other screen.

use chrono::{Days, NaiveDate};

use crate::db::Db;
use crate::domain::model::{ProductSeries, Role, SeriesPoint, SummaryView, TeamRef};
use crate::domain::packs;
use crate::domain::range::{RangeQuery, ResolvedRange};
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::report::plan::run;
use crate::report::{Dimension, DimensionValue, Metric, ReportQuery};

/// Token events are listed for this many days back from today.
pub const EVENT_WINDOW_DAYS: u64 = 90;

async fn tokens_in(db: &Db, team_id: i64, range: ResolvedRange) -> Result<i64> {
    Ok(run(db, &ReportQuery::totals(team_id, range, &[Metric::Tokens])).await?.total(Metric::Tokens).count())
}

/// Products drawn in their own colour when the chart is stacked; the rest
/// are summed as "Other products".
pub const STACKED_PRODUCTS: usize = 8;

/// The range's tokens per bucket split by product: the `STACKED_PRODUCTS`
/// biggest, then the rest as one series, each aligned with `series`.
async fn stacked_by_product(
    db: &Db,
    team_id: i64,
    range: ResolvedRange,
    series: &[SeriesPoint],
) -> Result<Vec<ProductSeries>> {
    let result =
        run(db, &ReportQuery::totals(team_id, range, &[Metric::Tokens]).by(Dimension::Product).by(Dimension::Time))
            .await?;
    let bucket_of = |start: NaiveDate| series.iter().position(|p| p.start == start);
    let mut products: Vec<ProductSeries> = Vec::new();
    for row in &result.rows {
        let [DimensionValue::Product { slug, name }, DimensionValue::Bucket { start, .. }] = row.keys.as_slice() else {
            continue;
        };
        let Some(bucket) = bucket_of(*start) else { continue };
        let index = match products.iter().position(|p| &p.key == slug) {
            Some(index) => index,
            None => {
                products.push(ProductSeries { key: slug.clone(), label: name.clone(), tokens: vec![0; series.len()] });
                products.len() - 1
            }
        };
        products[index].tokens[bucket] += row.values[0].count();
    }
    products.retain(|p| p.tokens.iter().any(|t| *t != 0));
    products.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.label.cmp(&b.label)));
    if products.len() > STACKED_PRODUCTS + 1 {
        let rest = products.split_off(STACKED_PRODUCTS);
        let mut other =
            ProductSeries { key: String::new(), label: "Other products".into(), tokens: vec![0; series.len()] };
        for product in rest {
            other.tokens.iter_mut().zip(product.tokens).for_each(|(sum, t)| *sum += t);
        }
        products.push(other);
    }
    Ok(products)
}

/// Builds the Summary of `team` as seen on `today` (the team's local date);
/// `stacked` adds the chart's split by product.
pub async fn summary(
    db: &Db,
    team: &Team,
    role: Role,
    today: NaiveDate,
    query: &RangeQuery,
    stacked: bool,
) -> Result<SummaryView> {
    let range = query.resolve(today).map_err(|e| Error::Invalid(e.to_string()))?;

    let state = packs::balance_state(db, team.id, today).await?;
    let ledger = state.ledger;
    let events_since = today - Days::new(EVENT_WINDOW_DAYS);
    let mut events: Vec<_> = ledger.events.iter().filter(|e| e.date > events_since).cloned().collect();
    events.reverse();

    let series = run(db, &ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::Time))
        .await?
        .series(Metric::Tokens);
    let range_tokens = series.iter().map(|p| p.tokens).sum();
    let previous = range.previous_range();
    let prev_from = previous.from;
    let previous_series = run(db, &ReportQuery::totals(team.id, previous, &[Metric::Tokens]).by(Dimension::Time))
        .await?
        .series(Metric::Tokens);
    let previous_range_tokens = previous_series.iter().map(|p| p.tokens).sum();
    let tokens_today = tokens_in(db, team.id, ResolvedRange { from: today, to: today, ..range }).await?;
    let distinct = run(db, &ReportQuery::totals(team.id, range, &[Metric::Users, Metric::Products])).await?;
    let previous_distinct =
        run(db, &ReportQuery::totals(team.id, previous, &[Metric::Users, Metric::Products])).await?;

    Ok(SummaryView {
        team: TeamRef { slug: team.slug.clone(), name: team.name.clone(), role },
        time_zone: team.time_zone.clone(),
        today,
        balance: ledger.balance(),
        outlook: state.outlook,
        tokens_today,
        events,
        range: (&range).into(),
        range_tokens,
        range_products: distinct.total(Metric::Products).count(),
        range_users: distinct.total(Metric::Users).count(),
        previous_range_tokens,
        previous_range_products: previous_distinct.total(Metric::Products).count(),
        previous_range_users: previous_distinct.total(Metric::Users).count(),
        // A comparison is fair only when the data reaches back over the whole previous period.
        previous_covered: state.first_usage.is_some_and(|first| first <= prev_from),
        previous_series,
        stacked: if stacked { stacked_by_product(db, team.id, range, &series).await? } else { Vec::new() },
        series,
    })
}
