//! The Summary tab's numbers (DESIGN §3.2): today's balance and usage, recent
//! token events, and the selected range's totals and time series — all
//! through the report pipeline, like every other screen.

use chrono::{Days, NaiveDate};

use crate::db::Db;
use crate::domain::model::{Role, SummaryView, TeamRef};
use crate::domain::packs;
use crate::domain::range::{RangeQuery, ResolvedRange};
use crate::domain::teams::Team;
use crate::error::{Error, Result};
use crate::report::plan::run;
use crate::report::{Dimension, Metric, ReportQuery};

/// Token events are listed for this many days back from today.
pub const EVENT_WINDOW_DAYS: u64 = 90;

async fn tokens_in(db: &Db, team_id: i64, range: ResolvedRange) -> Result<i64> {
    Ok(run(db, &ReportQuery::totals(team_id, range, &[Metric::Tokens])).await?.total(Metric::Tokens).count())
}

/// Builds the Summary of `team` as seen on `today` (the team's local date).
pub async fn summary(db: &Db, team: &Team, role: Role, today: NaiveDate, query: &RangeQuery) -> Result<SummaryView> {
    let range = query.resolve(today).map_err(|e| Error::Invalid(e.to_string()))?;

    let ledger = packs::ledger(db, team.id, today).await?;
    let events_since = today - Days::new(EVENT_WINDOW_DAYS);
    let mut events: Vec<_> = ledger.events.iter().filter(|e| e.date > events_since).cloned().collect();
    events.reverse();

    let series = run(db, &ReportQuery::totals(team.id, range, &[Metric::Tokens]).by(Dimension::Time))
        .await?
        .series(Metric::Tokens);
    let range_tokens = series.iter().map(|p| p.tokens).sum();
    let (prev_from, prev_to) = range.previous();
    let previous = ResolvedRange { from: prev_from, to: prev_to, ..range };
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
