//! Dates written for people ("Aug 2026", "Aug 28 – Nov 27, 2026") in chart
//! axes, range labels and export headers. Pure: imports only chrono.

use chrono::{Datelike, NaiveDate};

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
