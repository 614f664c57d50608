//! How urgent a team's balance is: the projected run-out, the days left and
//! one colour (DESIGN §3.2, §3.5). Summary, Balances and the low-balance
//! alert all use this one rule, so the red tile and the alert mail agree.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::model::Balance;

/// Below this share of the total the balance is shown amber.
pub const LOW_SHARE_PERCENT: i64 = 20;
/// A run-out within this many days is shown red.
pub const RUN_OUT_WARNING_DAYS: i64 = 30;

/// The colour of the balance tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Urgency {
    /// Green: above 20% and no run-out within 30 days.
    Healthy,
    /// Amber: below 20% of the active packs' total.
    Low,
    /// Red: at or below one of the team's alert thresholds, overdrawn,
    /// without any active pack, or running out within 30 days.
    Critical,
}

impl Urgency {
    /// `healthy`, `low` or `critical`: the tiles' `data-tone`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Today's balance seen forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outlook {
    /// The first day the active packs no longer cover the projected use;
    /// `None` when they last beyond the forecast's 12 months.
    pub run_out: Option<NaiveDate>,
    /// Whole days from today to `run_out` (0 when it is today).
    pub days_left: Option<i64>,
    pub urgency: Urgency,
}

/// The low-balance alert's condition for one threshold: available tokens at
/// or below `percent` of the active packs' total. No active pack counts as
/// empty (0 ≤ any threshold).
pub fn at_alert_threshold(balance: Balance, percent: u32) -> bool {
    balance.available * 100 <= balance.total * i64::from(percent)
}

impl Outlook {
    /// `alert_percents` are the team's low-balance thresholds.
    pub fn new(balance: Balance, run_out: Option<NaiveDate>, today: NaiveDate, alert_percents: &[u32]) -> Outlook {
        let days_left = run_out.map(|day| (day - today).num_days().max(0));
        let alerting = alert_percents.iter().any(|&p| at_alert_threshold(balance, p));
        let soon = days_left.is_some_and(|days| days <= RUN_OUT_WARNING_DAYS);
        let empty = balance.total <= 0 || balance.available < 0;
        let urgency = if alerting || soon || empty {
            Urgency::Critical
        } else if balance.available * 100 < balance.total * LOW_SHARE_PERCENT {
            Urgency::Low
        } else {
            Urgency::Healthy
        };
        Outlook { run_out, days_left, urgency }
    }
}

/// Reads "20, 10%" as the alert thresholds `[20, 10]` (highest first).
pub fn parse_percents(text: &str) -> Result<Vec<u32>, String> {
    let mut percents = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let percent = part
            .trim_end_matches('%')
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=99).contains(p))
            .ok_or_else(|| format!("threshold {part:?} must be a whole percentage from 1 to 99"))?;
        percents.push(percent);
    }
    percents.sort_unstable_by(|a, b| b.cmp(a));
    percents.dedup();
    Ok(percents)
}

/// The team's low-balance thresholds as stored in `teams.low_balance_percents`.
#[cfg(feature = "ssr")]
pub async fn alert_percents(db: &crate::db::Db, team_id: i64) -> crate::error::Result<Vec<u32>> {
    let sql = "SELECT low_balance_percents FROM teams WHERE id = $1";
    let text: String = crate::on_db!(db, |pool| sqlx::query_scalar(sql).bind(team_id).fetch_one(pool).await?);
    Ok(parse_percents(&text).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use chrono::Days;

    use super::*;

    fn balance(available: i64, total: i64) -> Balance {
        Balance { available, used: total - available, total, overdraft: 0 }
    }

    #[test]
    fn the_colour_follows_the_share_the_alert_thresholds_and_the_run_out() {
        let today: NaiveDate = "2026-11-30".parse().unwrap();
        let far = Some(today + Days::new(200));
        let urgency = |available, run_out, percents: &[u32]| {
            Outlook::new(balance(available, 1000), run_out, today, percents).urgency
        };
        assert_eq!(urgency(500, far, &[10]), Urgency::Healthy);
        assert_eq!(urgency(200, far, &[10]), Urgency::Healthy, "exactly 20% is not below 20%");
        assert_eq!(urgency(199, far, &[10]), Urgency::Low);
        assert_eq!(urgency(100, far, &[10]), Urgency::Critical, "at the threshold the alert fires");
        assert_eq!(urgency(150, far, &[20, 10]), Urgency::Critical, "any threshold counts");
        assert_eq!(urgency(900, Some(today + Days::new(30)), &[]), Urgency::Critical);
        assert_eq!(urgency(900, Some(today + Days::new(31)), &[]), Urgency::Healthy);
        assert_eq!(urgency(900, None, &[]), Urgency::Healthy, "never runs out within the forecast");
        assert_eq!(Outlook::new(balance(-5, 0), None, today, &[]).urgency, Urgency::Critical, "overdrawn");
        assert_eq!(Outlook::new(balance(0, 0), None, today, &[]).urgency, Urgency::Critical, "no active pack");
    }

    #[test]
    fn days_left_counts_whole_days_to_the_run_out() {
        let today: NaiveDate = "2026-11-30".parse().unwrap();
        let outlook = Outlook::new(balance(500, 1000), Some("2027-01-04".parse().unwrap()), today, &[]);
        assert_eq!(outlook.days_left, Some(35));
        assert_eq!(Outlook::new(balance(0, 0), Some(today), today, &[]).days_left, Some(0));
        assert_eq!(Outlook::new(balance(500, 1000), None, today, &[]).days_left, None);
    }

    #[test]
    fn thresholds_read_highest_first() {
        assert_eq!(parse_percents("10, 20%, 10"), Ok(vec![20, 10]));
        assert!(parse_percents("0").is_err());
    }
}
