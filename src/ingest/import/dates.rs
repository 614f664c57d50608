//! Usage dates as the vendor's files write them (DESIGN §5): `YYYY-MM-DD`,
//! an ISO date-time (its date in UTC), `D.M.YYYY`, and slash dates whose
//! order (`M/D/YYYY` or `D/M/YYYY`) a file shows by a day above 12 or an
//! admin names with `--date-format`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::domain::values::quote;

/// How a file's slash dates are read: named by the admin, or found in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DateFormat {
    /// `YYYY-MM-DD` (and ISO date-times) only: a slash date is an error.
    Iso,
    /// `M/D/YYYY`, as US exports write.
    MonthFirst,
    /// `D/M/YYYY` (and `D.M.YYYY`), as European exports write.
    DayFirst,
}

impl DateFormat {
    /// The spellings `--date-format`, the API's `date_format` parameter and
    /// the upload form accept (case ignored).
    pub fn parse(text: &str) -> Option<DateFormat> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "YYYY-MM-DD" | "ISO" | "YMD" => DateFormat::Iso,
            "M/D/YYYY" | "MM/DD/YYYY" | "MDY" => DateFormat::MonthFirst,
            "D/M/YYYY" | "DD/MM/YYYY" | "D.M.YYYY" | "DD.MM.YYYY" | "DMY" => DateFormat::DayFirst,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::MonthFirst => "M/D/YYYY",
            DateFormat::DayFirst => "D/M/YYYY",
        }
    }
}

/// The longest text a usage date can be ("2026-11-27T23:59:59.999999+01:00"
/// with some room): longer is refused before any parsing.
const MAX_DATE_CHARS: usize = 40;

/// What one slash date says about the order of day and month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlashEvidence {
    /// Not a slash date.
    None,
    /// Both parts ≤ 12: either order reads it.
    Ambiguous,
    /// Only one order reads it.
    Shows(DateFormat),
}

/// The three numbers of `a/b/yyyy`, if `raw` has that shape.
fn slash_parts(raw: &str) -> Option<(u32, u32, i32)> {
    let mut parts = raw.split('/');
    let (a, b, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || a.is_empty() || a.len() > 2 || b.is_empty() || b.len() > 2 {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, year.parse().ok()?))
}

/// What `raw` tells about the slash order, for the scan that picks it.
pub fn slash_evidence(raw: &str) -> SlashEvidence {
    match slash_parts(raw.trim()) {
        None => SlashEvidence::None,
        Some((a, b, _)) if a > 12 && b <= 12 => SlashEvidence::Shows(DateFormat::DayFirst),
        Some((a, b, _)) if b > 12 && a <= 12 => SlashEvidence::Shows(DateFormat::MonthFirst),
        Some(_) => SlashEvidence::Ambiguous,
    }
}

/// Reads one usage date; `slash_order` is how slash dates read in this file
/// (`None`: the file has none, or they could not be ordered).
pub fn parse_date(raw: &str, slash_order: Option<DateFormat>) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    let not_a_date = |form: &str| format!("usage date {} is not a date ({form})", quote(raw));
    if raw.len() > MAX_DATE_CHARS {
        return Err(not_a_date("YYYY-MM-DD"));
    }
    if let Some((a, b, year)) = slash_parts(raw) {
        let (month, day) = match slash_order {
            Some(DateFormat::MonthFirst) => (a, b),
            Some(DateFormat::DayFirst) => (b, a),
            Some(DateFormat::Iso) => return Err(not_a_date("YYYY-MM-DD, as --date-format says")),
            None => return Err(not_a_date("a slash date needs --date-format")),
        };
        let form = slash_order.map_or("", DateFormat::as_str);
        return NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| not_a_date(form));
    }
    if raw.contains('.') && !raw.contains('-') {
        return NaiveDate::parse_from_str(raw, "%d.%m.%Y").map_err(|_| not_a_date("D.M.YYYY"));
    }
    if raw.len() == 10 {
        return NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| not_a_date("YYYY-MM-DD"));
    }
    // An ISO date-time: with an offset, its day in UTC; without one, as written.
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc).date_naive());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|form| NaiveDateTime::parse_from_str(raw, form).ok())
        .map(|at| at.date())
        .ok_or_else(|| not_a_date("YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_form_reads_the_same_day() {
        assert_eq!(parse_date("2026-11-02", None), Ok(d("2026-11-02")));
        assert_eq!(parse_date(" 2026-11-02T23:30:00Z ", None), Ok(d("2026-11-02")));
        assert_eq!(parse_date("2026-11-02T23:30:00-05:00", None), Ok(d("2026-11-03")), "the day in UTC");
        assert_eq!(parse_date("2026-11-02 08:15:00", None), Ok(d("2026-11-02")));
        assert_eq!(parse_date("2026-11-02T08:15", None), Ok(d("2026-11-02")));
        assert_eq!(parse_date("2.11.2026", None), Ok(d("2026-11-02")));
        assert_eq!(parse_date("02.11.2026", Some(DateFormat::MonthFirst)), Ok(d("2026-11-02")), "dots are D.M");
        assert_eq!(parse_date("11/2/2026", Some(DateFormat::MonthFirst)), Ok(d("2026-11-02")));
        assert_eq!(parse_date("2/11/2026", Some(DateFormat::DayFirst)), Ok(d("2026-11-02")));
    }

    #[test]
    fn bad_dates_say_which_form_was_expected() {
        assert!(parse_date("2026-11-31", None).unwrap_err().contains("not a date (YYYY-MM-DD)"));
        assert!(parse_date("31.2.2026", None).unwrap_err().contains("D.M.YYYY"));
        assert!(parse_date("3/4/2026", None).unwrap_err().contains("--date-format"));
        assert!(parse_date("13/4/2026", Some(DateFormat::MonthFirst)).unwrap_err().contains("M/D/YYYY"));
        assert!(parse_date("3/4/2026", Some(DateFormat::Iso)).is_err());
        assert!(parse_date(&"9".repeat(100), None).unwrap_err().contains('…'), "long values are cut");
    }

    #[test]
    fn slash_dates_show_their_order_by_a_part_above_12() {
        assert_eq!(slash_evidence("13/4/2026"), SlashEvidence::Shows(DateFormat::DayFirst));
        assert_eq!(slash_evidence("4/13/2026"), SlashEvidence::Shows(DateFormat::MonthFirst));
        assert_eq!(slash_evidence("4/3/2026"), SlashEvidence::Ambiguous);
        assert_eq!(slash_evidence("2026-04-03"), SlashEvidence::None);
    }

    #[test]
    fn date_format_spellings() {
        assert_eq!(DateFormat::parse("m/d/yyyy"), Some(DateFormat::MonthFirst));
        assert_eq!(DateFormat::parse("D.M.YYYY"), Some(DateFormat::DayFirst));
        assert_eq!(DateFormat::parse("iso"), Some(DateFormat::Iso));
        assert_eq!(DateFormat::parse("yy"), None);
    }
}
