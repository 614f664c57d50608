//! The Summary tab's numbers (DESIGN §3.2): today's balance and usage, recent
//! token events, and the selected range's totals and time series.

use chrono::{Days, NaiveDate};

use crate::db::{Db, on_db};
use crate::domain::model::{Role, SeriesPoint, SummaryView, TeamRef};
use crate::domain::packs;
use crate::domain::range::RangeQuery;
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::report::sql::run;
use crate::report::{Metric, ReportQuery};

/// Token events are listed for this many days back from today.
pub const EVENT_WINDOW_DAYS: u64 = 90;

async fn daily_tokens(db: &Db, team_id: i64, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, i64)>> {
    let sql = "SELECT usage_date, tokens FROM daily_usage WHERE team_id = $1 AND usage_date BETWEEN $2 AND $3";
    Ok(on_db!(db, |pool| sqlx::query_as::<_, (NaiveDate, i64)>(sql)
        .bind(team_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?))
}

/// Builds the Summary of `team` as seen on `today` (the team's local date).
pub async fn summary(db: &Db, team: &Team, role: Role, today: NaiveDate, query: &RangeQuery) -> Result<SummaryView> {
    let range = query.resolve(today).map_err(|e| Error::Invalid(e.to_string()))?;

    let ledger = packs::ledger(db, team.id, today).await?;
    let events_since = today - Days::new(EVENT_WINDOW_DAYS);
    let mut events: Vec<_> = ledger.events.iter().filter(|e| e.date > events_since).cloned().collect();
    events.reverse();

    let daily = daily_tokens(db, team.id, range.from, range.to).await?;
    let series: Vec<SeriesPoint> = range
        .bucketize(daily.iter().copied())
        .into_iter()
        .map(|(b, tokens)| SeriesPoint { start: b.start, end: b.end, tokens, partial: b.partial })
        .collect();
    let range_tokens = series.iter().map(|p| p.tokens).sum();
    let (prev_from, prev_to) = range.previous();
    let previous_range_tokens = daily_tokens(db, team.id, prev_from, prev_to).await?.iter().map(|(_, t)| t).sum();
    let tokens_today = daily_tokens(db, team.id, today, today).await?.iter().map(|(_, t)| t).sum();
    let distinct = run(db, &ReportQuery::totals(team.id, range, &[Metric::Users, Metric::Products])).await?;
    let previous = crate::domain::range::ResolvedRange { from: prev_from, to: prev_to, ..range };
    let previous_distinct =
        run(db, &ReportQuery::totals(team.id, previous, &[Metric::Users, Metric::Products])).await?;

    Ok(SummaryView {
        team: TeamRef { slug: team.slug.clone(), name: team.name.clone(), role },
        time_zone: team.time_zone.clone(),
        today,
        balance: ledger.balance(),
        tokens_today,
        events,
        range: (&range).into(),
        range_tokens,
        range_products: distinct.total(Metric::Products).count(),
        range_users: distinct.total(Metric::Users).count(),
        previous_range_tokens,
        previous_range_products: previous_distinct.total(Metric::Products).count(),
        previous_range_users: previous_distinct.total(Metric::Users).count(),
        series,
    })
}
