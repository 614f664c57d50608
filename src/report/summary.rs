//! The Summary tab's numbers (DESIGN §3.2): today's balance and usage, recent
//! token events, and the selected range's totals and time series — all
//! through the report pipeline, like every other screen.

use chrono::{Days, NaiveDate};

use crate::db::Db;
use crate::domain::model::{ProductSeries, Role, SeriesPoint, SummaryView, TeamRef};
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
    let buckets: std::collections::HashMap<NaiveDate, usize> =
        series.iter().enumerate().map(|(i, p)| (p.start, i)).collect();
    let mut products: Vec<ProductSeries> = Vec::new();
    for row in &result.rows {
        let [DimensionValue::Product { slug, name }, DimensionValue::Bucket { start, .. }] = row.keys.as_slice() else {
            continue;
        };
        let Some(&bucket) = buckets.get(start) else { continue };
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

/// The previous period of `range`, bucket by bucket: each bucket of
/// `current` moved back by the range's length, with the tokens of those
/// days. Buckets are compared span for span (a 4-day partial week with the
/// same 4 days before), and the sum is the previous period's total.
pub async fn previous_buckets(db: &Db, query: ReportQuery, current: &[SeriesPoint]) -> Result<Vec<SeriesPoint>> {
    let range = query.range;
    let previous = range.previous_range();
    let shift = Days::new(range.days() as u64);
    if range.days() as usize > crate::domain::range::MAX_BUCKETS {
        // Too many days to read one by one: the previous period's own buckets, in order.
        return Ok(run(db, &ReportQuery { range: previous, ..query }).await?.series(Metric::Tokens));
    }
    let by_day = ResolvedRange { granularity: crate::domain::range::Granularity::Day, ..previous };
    let days = run(db, &ReportQuery { range: by_day, ..query }).await?.series(Metric::Tokens);
    Ok(shift_back(current, &days, shift))
}

/// [`previous_buckets`]' arithmetic: `days` are one-day points of the
/// previous period.
fn shift_back(current: &[SeriesPoint], days: &[SeriesPoint], shift: Days) -> Vec<SeriesPoint> {
    current
        .iter()
        .map(|bucket| {
            let (start, end) = (bucket.start - shift, bucket.end - shift);
            let tokens = days.iter().filter(|d| d.start >= start && d.start <= end).map(|d| d.tokens).sum();
            SeriesPoint { start, end, tokens, partial: bucket.partial }
        })
        .collect()
}

/// What the tokens-over-time chart adds, each only when asked for (`?stack=product`,
/// `?compare=previous`): the default view stays as fast as it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChartOptions {
    /// The bars split by product.
    pub stacked: bool,
    /// The previous period, bucket by bucket.
    pub compare: bool,
}

/// Builds the Summary of `team` as seen on `today` (the team's local date).
pub async fn summary(
    db: &Db,
    team: &Team,
    role: Role,
    today: NaiveDate,
    query: &RangeQuery,
    chart: ChartOptions,
) -> Result<SummaryView> {
    let range = query.resolve(today).map_err(|e| Error::Invalid(e.to_string()))?;

    let state = crate::report::memo::balance_state(db, team.id, today).await?;
    let ledger = state.ledger;
    let events_since = today - Days::new(EVENT_WINDOW_DAYS);
    let mut events: Vec<_> = ledger.events.iter().filter(|e| e.date > events_since).cloned().collect();
    events.reverse();

    let time = ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::Time);
    let series = run(db, &time).await?.series(Metric::Tokens);
    let range_tokens = series.iter().map(|p| p.tokens).sum();
    let previous = range.previous_range();
    let prev_from = previous.from;
    let previous_series = if chart.compare { previous_buckets(db, time, &series).await? } else { Vec::new() };
    let previous_range_tokens = tokens_in(db, team.id, previous).await?;
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
        stacked: if chart.stacked { stacked_by_product(db, team.id, range, &series).await? } else { Vec::new() },
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bucket_is_compared_with_the_same_span_one_period_back() {
        let d = |s: &str| -> NaiveDate { s.parse().unwrap() };
        let point =
            |start: &str, end: &str, tokens, partial| SeriesPoint { start: d(start), end: d(end), tokens, partial };
        // A 10-day range by week: a 4-day partial week, then a full one.
        let current = [point("2026-11-05", "2026-11-08", 1, true), point("2026-11-09", "2026-11-14", 1, false)];
        // The previous 10 days, one point each: 1, 2, …, 10 tokens.
        let days: Vec<SeriesPoint> = (0..10)
            .map(|i| {
                let day = d("2026-10-26") + Days::new(i);
                SeriesPoint { start: day, end: day, tokens: i as i64 + 1, partial: false }
            })
            .collect();
        let previous = shift_back(&current, &days, Days::new(10));
        assert_eq!(previous[0], point("2026-10-26", "2026-10-29", 1 + 2 + 3 + 4, true), "4 days for 4 days");
        assert_eq!(previous[1], point("2026-10-30", "2026-11-04", 5 + 6 + 7 + 8 + 9 + 10, false));
        assert_eq!(previous.iter().map(|p| p.tokens).sum::<i64>(), 55, "the whole previous period");
    }
}
