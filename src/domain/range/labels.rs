//! Dates written for people ("Aug 2026", "Aug 28 – Nov 27, 2026") in chart
//! axes, range labels and export headers. Pure: imports only chrono.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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

/// "Nov 28, 2026 09:14 UTC": a moment, as `%b %-d, %Y %H:%M UTC` writes it
/// in the years 1000–9999, where `%Y` needs no padding (an import's time).
/// Not chrono's strftime: it would add its formatting machinery to the wasm
/// of every team page.
pub fn short_time(at: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02} UTC", short_date(at.date_naive(), true), at.hour(), at.minute())
}

/// "Aug 28 – Nov 27, 2026", with both years when they differ.
pub fn date_span(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        short_date(to, true)
    } else {
        format!("{} – {}", short_date(from, from.year() != to.year()), short_date(to, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_reads_as_strftime_wrote_it() {
        for at in ["2026-11-28T09:04:59Z", "2026-01-05T23:30:00Z", "2027-12-31T00:00:00Z"] {
            let at: DateTime<Utc> = at.parse().unwrap();
            assert_eq!(short_time(at), at.format("%b %-d, %Y %H:%M UTC").to_string());
        }
    }
}
