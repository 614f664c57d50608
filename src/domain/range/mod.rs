//! Time ranges (DESIGN §2): the URL's range parameters, presets resolved
//! against the team's "today" into concrete dates and a granularity.
//!
//! `buckets` cuts a resolved range into gap-filled buckets, `labels` writes
//! dates for people. Pure rules (wasm-safe): imports only `domain::values`.

mod buckets;
mod labels;
#[cfg(test)]
mod tests;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::values::{MIN_DATE, max_date, quote};

use buckets::bucket_count;
pub use buckets::{Bucket, Granularity};
pub use labels::{date_span, month_label, short_date, short_time};

/// Most buckets a view may have; finer granularities are refused beyond it.
pub const MAX_BUCKETS: usize = 400;
/// Longest custom range accepted, in days (about five years).
pub const MAX_RANGE_DAYS: i64 = 1900;

/// One spelling per preset (serde and strum agree), in URLs, forms, stored
/// schedules and JSON.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString,
)]
pub enum RangePreset {
    #[serde(rename = "7d")]
    #[strum(serialize = "7d")]
    Days7,
    #[default]
    #[serde(rename = "30d")]
    #[strum(serialize = "30d")]
    Days30,
    #[serde(rename = "3m")]
    #[strum(serialize = "3m")]
    Months3,
    #[serde(rename = "6m")]
    #[strum(serialize = "6m")]
    Months6,
    #[serde(rename = "9m")]
    #[strum(serialize = "9m")]
    Months9,
    #[serde(rename = "12m")]
    #[strum(serialize = "12m")]
    Months12,
    #[serde(rename = "custom")]
    #[strum(serialize = "custom")]
    Custom,
}

impl RangePreset {
    pub const PRESETS: [RangePreset; 6] = [
        RangePreset::Days7,
        RangePreset::Days30,
        RangePreset::Months3,
        RangePreset::Months6,
        RangePreset::Months9,
        RangePreset::Months12,
    ];

    /// The value used in URLs (`?range=3m`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<RangePreset> {
        s.parse().ok()
    }

    pub fn title(self) -> &'static str {
        match self {
            RangePreset::Days7 => "Past 7 days",
            RangePreset::Days30 => "Past 30 days",
            RangePreset::Months3 => "Past 3 months",
            RangePreset::Months6 => "Past 6 months",
            RangePreset::Months9 => "Past 9 months",
            RangePreset::Months12 => "Past 12 months",
            RangePreset::Custom => "Custom",
        }
    }

    /// First day of a rolling window that ends with `today` (included).
    /// Month presets start on the same day of the month N months back, as
    /// the vendor's page does (clamped to a shorter month's last day).
    fn start(self, today: NaiveDate) -> Option<NaiveDate> {
        let back_months = |m: u32| today.checked_sub_months(Months::new(m));
        match self {
            RangePreset::Days7 => today.checked_sub_days(Days::new(6)),
            RangePreset::Days30 => today.checked_sub_days(Days::new(29)),
            RangePreset::Months3 => back_months(3),
            RangePreset::Months6 => back_months(6),
            RangePreset::Months9 => back_months(9),
            RangePreset::Months12 => back_months(12),
            RangePreset::Custom => None,
        }
    }
}

/// The range parameters of a view as they appear in its URL. Every field is
/// optional so that a bare URL shows the default view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeQuery {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub granularity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("unknown range {0:?}: use 7d, 30d, 3m, 6m, 9m, 12m or custom")]
    UnknownPreset(String),
    #[error("unknown granularity {0:?}: use day, week or month")]
    UnknownGranularity(String),
    #[error("a custom range needs both from and to (YYYY-MM-DD)")]
    MissingCustomDates,
    /// `value` is already quoted and shortened.
    #[error("{field} {value} is not a date (YYYY-MM-DD)")]
    BadDate { field: &'static str, value: String },
    #[error("{field} ({date}) is outside the dates Tokenboard shows: {MIN_DATE} to {max}")]
    OutOfBounds { field: &'static str, date: NaiveDate, max: NaiveDate },
    #[error("from ({from}) is after to ({to})")]
    FromAfterTo { from: NaiveDate, to: NaiveDate },
    #[error("the range is longer than {MAX_RANGE_DAYS} days")]
    TooLong,
    #[error("{granularity:?} buckets would make {buckets} points; at most {MAX_BUCKETS} are shown")]
    TooManyBuckets { granularity: Granularity, buckets: usize },
}

/// A range resolved against a team's today: concrete dates, granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResolvedRange {
    pub preset: RangePreset,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, RangeError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| RangeError::BadDate { field, value: quote(value) })
}

impl RangeQuery {
    pub fn preset(preset: RangePreset) -> RangeQuery {
        RangeQuery { range: Some(preset.as_str().to_owned()), ..RangeQuery::default() }
    }

    pub fn custom(from: NaiveDate, to: NaiveDate) -> RangeQuery {
        RangeQuery {
            range: Some("custom".into()),
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            granularity: None,
        }
    }

    pub fn with_granularity(mut self, granularity: Granularity) -> RangeQuery {
        self.granularity = Some(granularity.as_str().to_owned());
        self
    }

    /// Resolves the URL parameters against `today` (the team's local date).
    pub fn resolve(&self, today: NaiveDate) -> Result<ResolvedRange, RangeError> {
        fn non_empty(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let preset = match non_empty(&self.range) {
            None => RangePreset::default(),
            Some(s) => RangePreset::parse(s).ok_or_else(|| RangeError::UnknownPreset(s.into()))?,
        };
        let (from, to) = match preset.start(today) {
            Some(from) => (from, today),
            None => {
                let (Some(from), Some(to)) = (non_empty(&self.from), non_empty(&self.to)) else {
                    return Err(RangeError::MissingCustomDates);
                };
                (parse_date("from", from)?, parse_date("to", to)?)
            }
        };
        // Bounded before any arithmetic: chrono panics near its limits
        // (year ±262,142), and no charge is older than MIN_DATE.
        let max = max_date(today);
        for (field, date) in [("from", from), ("to", to)] {
            if date < MIN_DATE || date > max {
                return Err(RangeError::OutOfBounds { field, date, max });
            }
        }
        if from > to {
            return Err(RangeError::FromAfterTo { from, to });
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        let granularity = match non_empty(&self.granularity) {
            None => default_granularity(from, to),
            Some(s) => {
                let g = Granularity::parse(s).ok_or_else(|| RangeError::UnknownGranularity(s.into()))?;
                let buckets = bucket_count(from, to, g);
                if buckets > MAX_BUCKETS {
                    return Err(RangeError::TooManyBuckets { granularity: g, buckets });
                }
                g
            }
        };
        Ok(ResolvedRange { preset, from, to, granularity })
    }
}

/// ≤ 31 days: day; up to 6 months back (the 6-month preset): week; longer: month.
fn default_granularity(from: NaiveDate, to: NaiveDate) -> Granularity {
    if (to - from).num_days() < 31 {
        Granularity::Day
    } else if from + Months::new(6) >= to {
        Granularity::Week
    } else {
        Granularity::Month
    }
}

impl ResolvedRange {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// "Past 3 months (Aug 27 – Nov 27, 2026)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.preset.title(), date_span(self.from, self.to))
    }

    /// The period of equal length that ends the day before `from`.
    pub fn previous(&self) -> (NaiveDate, NaiveDate) {
        let to = self.from.pred_opt().expect("dates are far from the minimum");
        (to - Days::new(self.days() as u64 - 1), to)
    }

    /// [`ResolvedRange::previous`] at this range's granularity: what a
    /// comparison with the previous period reads.
    pub fn previous_range(&self) -> ResolvedRange {
        let (from, to) = self.previous();
        ResolvedRange { from, to, ..*self }
    }
}
