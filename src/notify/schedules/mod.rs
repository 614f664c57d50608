//! Scheduled reports (DESIGN §4): a report, range and format e-mailed to one
//! or more recipients weekly, every two weeks, monthly or quarterly from a
//! start date. Primary admins only; recipients are the team's admins or
//! addresses in the domains its settings allow, and a mailed link opens
//! only after logging in as an admin of the team. The dates and validation are shared with the browser; the
//! storage and the due-run logic need feature `ssr`.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::domain::range::RangePreset;
use crate::export::{ExportFormat, ExportReport};
use crate::notify::mail::parse_recipients;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Cadence {
    Weekly,
    Biweekly,
    Monthly,
    Quarterly,
}

impl Cadence {
    pub const ALL: [Cadence; 4] = [Cadence::Weekly, Cadence::Biweekly, Cadence::Monthly, Cadence::Quarterly];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Cadence> {
        s.parse().ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            Cadence::Weekly => "Weekly",
            Cadence::Biweekly => "Every two weeks",
            Cadence::Monthly => "Monthly",
            Cadence::Quarterly => "Quarterly",
        }
    }

    /// The `n`-th run from `start` (0 is `start`). Months are counted from
    /// the start, so a schedule starting on the 31st runs on each month's
    /// last day without drifting.
    pub fn nth(self, start: NaiveDate, n: u32) -> NaiveDate {
        match self {
            Cadence::Weekly => start + Days::new(7 * u64::from(n)),
            Cadence::Biweekly => start + Days::new(14 * u64::from(n)),
            Cadence::Monthly => start + Months::new(n),
            Cadence::Quarterly => start + Months::new(3 * n),
        }
    }

    /// The first run on or after `date`.
    pub fn first_on_or_after(self, start: NaiveDate, date: NaiveDate) -> NaiveDate {
        (0..).map(|n| self.nth(start, n)).find(|d| *d >= date).expect("runs grow without bound")
    }
}

/// A schedule as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: i64,
    pub team_id: i64,
    pub report: ExportReport,
    pub format: ExportFormat,
    pub range: RangePreset,
    pub cadence: Cadence,
    pub start_on: NaiveDate,
    pub next_run_on: NaiveDate,
    pub recipients: Vec<String>,
    pub paused: bool,
    pub last_export_id: Option<i64>,
    /// The primary admin it runs for: who last saved or resumed it. When
    /// they stop being a primary admin of the team, it pauses.
    pub owner: Option<i64>,
}

/// Scheduled reports a team may have.
pub const MAX_SCHEDULES: usize = 10;

/// A schedule as a form submits it: text fields, validated by [`ScheduleInput::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInput {
    pub report: String,
    pub format: String,
    pub range: String,
    pub cadence: String,
    pub start_on: String,
    /// E-mail addresses separated by commas, spaces or new lines.
    pub recipients: String,
}

/// A validated [`ScheduleInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSchedule {
    pub report: ExportReport,
    pub format: ExportFormat,
    pub range: RangePreset,
    pub cadence: Cadence,
    pub start_on: NaiveDate,
    pub recipients: Vec<String>,
}

impl ScheduleInput {
    pub fn validate(&self) -> Result<ValidSchedule, String> {
        let report = ExportReport::parse(self.report.trim())
            .filter(|r| ExportReport::SCHEDULABLE.contains(r))
            .ok_or_else(|| format!("{:?} is not a report that can be scheduled", self.report))?;
        let format = ExportFormat::parse(self.format.trim())
            .ok_or_else(|| format!("unknown format {:?}: use csv or xlsx", self.format))?;
        let range = RangePreset::parse(self.range.trim())
            .filter(|p| *p != RangePreset::Custom)
            .ok_or_else(|| format!("unknown range {:?}: use one of the preset ranges", self.range))?;
        let cadence = Cadence::parse(self.cadence.trim()).ok_or_else(|| {
            format!("unknown frequency {:?}: use weekly, biweekly, monthly or quarterly", self.cadence)
        })?;
        let start_on = NaiveDate::parse_from_str(self.start_on.trim(), "%Y-%m-%d")
            .map_err(|_| format!("start date {:?} is not a date (YYYY-MM-DD)", self.start_on))?;
        let recipients = parse_recipients(&self.recipients)?;
        if recipients.is_empty() {
            return Err("add at least one recipient".into());
        }
        Ok(ValidSchedule { report, format, range, cadence, start_on, recipients })
    }
}

#[cfg(feature = "ssr")]
mod store;
#[cfg(feature = "ssr")]
pub use store::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn cadences_count_from_the_start_date() {
        assert_eq!(Cadence::Weekly.nth(d("2026-01-01"), 2), d("2026-01-15"));
        assert_eq!(Cadence::Biweekly.nth(d("2026-01-01"), 2), d("2026-01-29"));
        assert_eq!(Cadence::Monthly.nth(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(Cadence::Monthly.nth(d("2026-01-31"), 2), d("2026-03-31"));
        assert_eq!(Cadence::Quarterly.nth(d("2026-01-15"), 1), d("2026-04-15"));
        assert_eq!(Cadence::Monthly.first_on_or_after(d("2026-01-10"), d("2026-03-11")), d("2026-04-10"));
        assert_eq!(Cadence::Weekly.first_on_or_after(d("2026-05-01"), d("2026-01-01")), d("2026-05-01"));
    }

    #[test]
    fn schedule_input_is_validated_with_clear_errors() {
        let good = ScheduleInput {
            report: "token-usage".into(),
            format: "xlsx".into(),
            range: "30d".into(),
            cadence: "weekly".into(),
            start_on: "2026-12-01".into(),
            recipients: "a@x.org, B@Y.org\nc@z.io".into(),
        };
        let valid = good.validate().unwrap();
        assert_eq!(valid.recipients, ["a@x.org", "b@y.org", "c@z.io"]);
        let bad = |f: fn(&mut ScheduleInput)| {
            let mut input = good.clone();
            f(&mut input);
            input.validate().unwrap_err()
        };
        assert!(bad(|i| i.recipients = "".into()).contains("at least one"));
        assert!(bad(|i| i.recipients = "a@x.org, nope".into()).contains("\"nope\""));
        assert!(bad(|i| i.report = "user".into()).contains("not a report that can be scheduled"));
        assert!(bad(|i| i.range = "custom".into()).contains("range"));
        assert!(bad(|i| i.start_on = "2026-13-01".into()).contains("not a date"));
        assert!(bad(|i| i.cadence = "daily".into()).contains("frequency"));
    }
}
