//! Granularity and buckets: how a resolved range is cut into days, weeks or
//! months for series and gap-filling. Pure rules: imports only chrono and `super`.

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{MAX_BUCKETS, ResolvedRange};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Day, Granularity::Week, Granularity::Month];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        s.parse().ok()
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

/// One bucket of a range, already clipped to the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub partial: bool,
}

pub(super) fn bucket_count(from: NaiveDate, to: NaiveDate, granularity: Granularity) -> usize {
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

impl ResolvedRange {
    /// Granularities that give at most [`MAX_BUCKETS`] buckets for this range.
    pub fn allowed_granularities(&self) -> Vec<Granularity> {
        Granularity::ALL.into_iter().filter(|g| bucket_count(self.from, self.to, *g) <= MAX_BUCKETS).collect()
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
