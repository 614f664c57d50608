//! Time ranges and granularity (DESIGN §2): presets resolve against the
//! team's "today", buckets are generated so that series can be gap-filled.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::values::{MIN_DATE, max_date, quote};

/// Most buckets a view may have; finer granularities are refused beyond it.
pub const MAX_BUCKETS: usize = 400;
/// Longest custom range accepted, in days (about five years).
pub const MAX_RANGE_DAYS: i64 = 1900;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangePreset {
    #[serde(rename = "7d")]
    Days7,
    #[default]
    #[serde(rename = "30d")]
    Days30,
    #[serde(rename = "3m")]
    Months3,
    #[serde(rename = "6m")]
    Months6,
    #[serde(rename = "9m")]
    Months9,
    #[serde(rename = "12m")]
    Months12,
    #[serde(rename = "custom")]
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
        match self {
            RangePreset::Days7 => "7d",
            RangePreset::Days30 => "30d",
            RangePreset::Months3 => "3m",
            RangePreset::Months6 => "6m",
            RangePreset::Months9 => "9m",
            RangePreset::Months12 => "12m",
            RangePreset::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<RangePreset> {
        RangePreset::PRESETS.into_iter().chain([RangePreset::Custom]).find(|p| p.as_str() == s)
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
    fn start(self, today: NaiveDate) -> Option<NaiveDate> {
        let back_months = |m: u32| today.checked_sub_months(Months::new(m))?.succ_opt();
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Day, Granularity::Week, Granularity::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The first day of the bucket containing `date` (weeks start Monday).
    pub fn bucket_start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => date,
            Granularity::Week => date - Days::new(date.weekday().num_days_from_monday() as u64),
            Granularity::Month => date.with_day(1).expect("day 1 exists"),
        }
    }

    /// The last day of the bucket that starts on `start`.
    fn bucket_end(self, start: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => start,
            Granularity::Week => start + Days::new(6),
            Granularity::Month => (start + Months::new(1)).pred_opt().expect("dates are far from the minimum"),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRange {
    pub preset: RangePreset,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
}

/// One bucket of a range, already clipped to the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub partial: bool,
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

/// ≤ 31 days: day; ≤ 6 months: week; longer: month.
fn default_granularity(from: NaiveDate, to: NaiveDate) -> Granularity {
    if (to - from).num_days() < 31 {
        Granularity::Day
    } else if from + Months::new(6) > to {
        Granularity::Week
    } else {
        Granularity::Month
    }
}

fn bucket_count(from: NaiveDate, to: NaiveDate, granularity: Granularity) -> usize {
    match granularity {
        Granularity::Day => (to - from).num_days() as usize + 1,
        Granularity::Week => {
            let first = Granularity::Week.bucket_start(from);
            ((to - first).num_days() / 7) as usize + 1
        }
        Granularity::Month => {
            let months = |d: NaiveDate| d.year() as usize * 12 + d.month0() as usize;
            months(to) - months(from) + 1
        }
    }
}

const MONTH_ABBR: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// "Aug 2026": a month bucket's label.
pub fn month_label(date: NaiveDate) -> String {
    format!("{} {}", MONTH_ABBR[date.month0() as usize], date.year())
}

/// "Aug 28" or "Aug 28, 2026".
pub fn short_date(date: NaiveDate, with_year: bool) -> String {
    let base = format!("{} {}", MONTH_ABBR[date.month0() as usize], date.day());
    if with_year { format!("{base}, {}", date.year()) } else { base }
}

/// "Aug 28 – Nov 27, 2026", with both years when they differ.
pub fn date_span(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        short_date(to, true)
    } else {
        format!("{} – {}", short_date(from, from.year() != to.year()), short_date(to, true))
    }
}

impl ResolvedRange {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// "Past 3 months (Aug 28 – Nov 27, 2026)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.preset.title(), date_span(self.from, self.to))
    }

    /// Granularities that give at most [`MAX_BUCKETS`] buckets for this range.
    pub fn allowed_granularities(&self) -> Vec<Granularity> {
        Granularity::ALL.into_iter().filter(|g| bucket_count(self.from, self.to, *g) <= MAX_BUCKETS).collect()
    }

    /// The period of equal length that ends the day before `from`.
    pub fn previous(&self) -> (NaiveDate, NaiveDate) {
        let to = self.from.pred_opt().expect("dates are far from the minimum");
        (to - Days::new(self.days() as u64 - 1), to)
    }

    /// Every bucket of the range in order, clipped to `from..=to`; the source
    /// of gap-filling: a bucket without usage is a zero, never missing.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut buckets = Vec::new();
        let mut start = self.granularity.bucket_start(self.from);
        while start <= self.to {
            let end = self.granularity.bucket_end(start);
            buckets.push(Bucket {
                start: start.max(self.from),
                end: end.min(self.to),
                partial: start < self.from || end > self.to,
            });
            start = end.succ_opt().expect("dates are far from the maximum");
        }
        buckets
    }

    /// Sums `(date, tokens)` pairs into the gap-filled buckets of this range;
    /// dates outside the range are ignored.
    pub fn bucketize(&self, daily: impl IntoIterator<Item = (NaiveDate, i64)>) -> Vec<(Bucket, i64)> {
        let buckets = self.buckets();
        let mut totals = vec![0i64; buckets.len()];
        for (date, tokens) in daily {
            if date < self.from || date > self.to {
                continue;
            }
            // Buckets are sorted and contiguous: find the last one starting on or before `date`.
            let index = buckets.partition_point(|b| b.start <= date) - 1;
            totals[index] += tokens;
        }
        buckets.into_iter().zip(totals).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn presets_are_rolling_windows_ending_today() {
        let today = d("2026-11-27");
        let r = RangeQuery::preset(RangePreset::Months3).resolve(today).unwrap();
        assert_eq!((r.from, r.to), (d("2026-08-28"), today));
        assert_eq!(r.label(), "Past 3 months (Aug 28 – Nov 27, 2026)");
        let r = RangeQuery::preset(RangePreset::Days7).resolve(today).unwrap();
        assert_eq!((r.from, r.days()), (d("2026-11-21"), 7));
        let r = RangeQuery::preset(RangePreset::Months12).resolve(today).unwrap();
        assert_eq!(r.label(), "Past 12 months (Nov 28, 2025 – Nov 27, 2026)");
        assert_eq!(month_label(d("2026-08-01")), "Aug 2026");
        assert_eq!(r.granularity, Granularity::Month);
    }

    #[test]
    fn granularity_follows_the_range_length() {
        let today = d("2026-11-27");
        let g = |p| RangeQuery::preset(p).resolve(today).unwrap().granularity;
        assert_eq!(g(RangePreset::Days30), Granularity::Day);
        assert_eq!(g(RangePreset::Months3), Granularity::Week);
        assert_eq!(g(RangePreset::Months6), Granularity::Week);
        assert_eq!(g(RangePreset::Months9), Granularity::Month);
    }

    #[test]
    fn bad_ranges_are_refused_with_a_reason() {
        let today = d("2026-11-27");
        let q = RangeQuery::custom(d("2026-11-10"), d("2026-11-01"));
        assert!(matches!(q.resolve(today), Err(RangeError::FromAfterTo { .. })));
        let q = RangeQuery { range: Some("2y".into()), ..Default::default() };
        assert_eq!(q.resolve(today), Err(RangeError::UnknownPreset("2y".into())));
        let q = RangeQuery::custom(d("2024-01-01"), d("2026-01-01")).with_granularity(Granularity::Day);
        assert!(matches!(q.resolve(today), Err(RangeError::TooManyBuckets { .. })));
        let q = RangeQuery {
            range: Some("custom".into()),
            from: Some("2026-13-01".into()),
            to: Some("2026-11-01".into()),
            granularity: None,
        };
        assert!(matches!(q.resolve(today), Err(RangeError::BadDate { field: "from", .. })));
    }

    #[test]
    fn custom_ranges_stay_between_2000_and_five_years_ahead() {
        let today = d("2026-11-27");
        let custom = |from: &str, to: &str| RangeQuery {
            range: Some("custom".into()),
            from: Some(from.into()),
            to: Some(to.into()),
            granularity: None,
        };
        assert!(custom("2000-01-01", "2000-12-31").resolve(today).is_ok());
        assert!(custom("2031-11-01", "2031-11-27").resolve(today).is_ok());
        for (from, to) in [
            ("1999-12-31", "2000-01-05"),
            ("2031-11-27", "2031-11-28"),
            ("-262000-01-01", "2026-01-01"),
            ("-262143-01-01", "-262143-01-01"),
            ("+262000-01-01", "+262000-01-31"),
            ("+262142-12-31", "+262142-12-31"),
        ] {
            match custom(from, to).resolve(today) {
                Err(RangeError::OutOfBounds { .. } | RangeError::BadDate { .. }) => {}
                other => panic!("{from}..{to}: {other:?}"),
            }
        }
        let e = custom("1800-01-01", "2026-01-01").resolve(today).unwrap_err();
        assert_eq!(e.to_string(), "from (1800-01-01) is outside the dates Tokenboard shows: 2000-01-01 to 2031-11-27");
        let long = "9".repeat(5_000_000);
        assert!(custom(&long, "2026-01-01").resolve(today).unwrap_err().to_string().len() < 100);
    }

    #[test]
    fn week_buckets_start_monday_and_mark_partial_edges() {
        // 2026-11-04 is a Wednesday, 2026-11-20 a Friday.
        let r = RangeQuery::custom(d("2026-11-04"), d("2026-11-20"))
            .with_granularity(Granularity::Week)
            .resolve(d("2026-11-27"))
            .unwrap();
        let b = r.buckets();
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].start, b[0].end, b[0].partial), (d("2026-11-04"), d("2026-11-08"), true));
        assert_eq!((b[1].start, b[1].end, b[1].partial), (d("2026-11-09"), d("2026-11-15"), false));
        assert_eq!((b[2].start, b[2].end, b[2].partial), (d("2026-11-16"), d("2026-11-20"), true));
    }

    #[test]
    fn bucketize_gap_fills_and_ignores_outside_dates() {
        let r = RangeQuery::custom(d("2026-01-30"), d("2026-03-02"))
            .with_granularity(Granularity::Month)
            .resolve(d("2026-11-27"))
            .unwrap();
        let out = r.bucketize([(d("2026-01-29"), 100), (d("2026-01-31"), 5), (d("2026-03-02"), 7)]);
        let totals: Vec<i64> = out.iter().map(|(_, t)| *t).collect();
        assert_eq!(totals, vec![5, 0, 7]);
        assert!(out[0].0.partial && !out[1].0.partial && out[2].0.partial);
    }

    #[test]
    fn previous_period_has_equal_length() {
        let r = RangeQuery::preset(RangePreset::Days30).resolve(d("2026-11-27")).unwrap();
        let (pf, pt) = r.previous();
        assert_eq!(pt, d("2026-10-28"));
        assert_eq!((pt - pf).num_days() + 1, 30);
    }
}
