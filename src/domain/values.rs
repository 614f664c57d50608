//! Bounds on values that come from outside (files, forms, URLs): text
//! lengths, control characters, the dates and token counts the reports can
//! hold, and how an error quotes a bad value. One place, so the import, the
//! forms, the ranges and the README agree. Shared with the browser.

use chrono::{Months, NaiveDate};

/// An e-mail address (RFC 5321's limit on a forward path).
pub const MAX_EMAIL_CHARS: usize = 254;
/// A first or a last name.
pub const MAX_NAME_CHARS: usize = 100;
/// A product's name (the catalogue is shared by every team: a long name
/// would slow every team's pages).
pub const MAX_PRODUCT_CHARS: usize = 100;
/// A product version ("2026.1").
pub const MAX_VERSION_CHARS: usize = 50;
/// A feature or usage type.
pub const MAX_FEATURE_CHARS: usize = 100;

/// Most tokens one charge may carry. Real charges are a few to a few
/// thousand tokens; 10⁹ leaves room for any pack while any sum stays exact:
/// `i64` overflows only after 9.2 × 10⁹ maximal charges (2,500 times the
/// reference team's 3.6 M charges a year), and `f64` (charts, Excel cells)
/// is exact up to 9 × 10⁶ maximal charges.
pub const MAX_TOKENS_PER_CHARGE: i64 = 1_000_000_000;

/// The earliest usage date, and the first day a range may start on.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("2000-01-01 is a date"),
};
/// How far past today a custom range may end.
pub const MAX_FUTURE_MONTHS: u32 = 5 * 12;

/// The last day a range may end on, for a team whose today is `today`.
pub fn max_date(today: NaiveDate) -> NaiveDate {
    today.checked_add_months(Months::new(MAX_FUTURE_MONTHS)).unwrap_or(NaiveDate::MAX)
}

/// Characters of a bad value an error message repeats: a 50 MB field gives
/// a short message.
pub const QUOTED_CHARS: usize = 40;

/// `value` quoted for an error message: at most [`QUOTED_CHARS`] characters,
/// then "…"; control characters escaped.
pub fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let mut prefix: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_some() {
        prefix.push('…');
    }
    format!("{prefix:?}")
}

/// Refuses a text with a control character (NUL, newline, tab, DEL, …) or
/// longer than `max_chars`; the error names the field as `what`.
pub fn check_text(what: &str, value: &str, max_chars: usize) -> Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!("{what} {} contains a control character (U+{:04X})", quote(value), c as u32));
    }
    // Bytes bound characters from above: most texts skip the count.
    if value.len() > max_chars && value.chars().count() > max_chars {
        return Err(format!("{what} {} is longer than {max_chars} characters", quote(value)));
    }
    Ok(())
}

/// A file's name as the history shows it: the last path component, control
/// characters removed, at most [`MAX_FILE_NAME_CHARS`]; "upload" when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(MAX_FILE_NAME_CHARS).collect();
    let clean = clean.trim();
    if clean.is_empty() { "upload".into() } else { clean.into() }
}

/// The longest file name the import history keeps.
pub const MAX_FILE_NAME_CHARS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "x".repeat(5_000_000);
        assert_eq!(quote(&long), format!("\"{}…\"", "x".repeat(QUOTED_CHARS)));
        assert_eq!(quote("a\0b"), "\"a\\0b\"");
    }

    #[test]
    fn texts_refuse_controls_and_length() {
        assert!(check_text("name", "Zoë O'Neil", MAX_NAME_CHARS).is_ok());
        assert!(check_text("name", "a\0b", MAX_NAME_CHARS).unwrap_err().contains("U+0000"));
        assert!(check_text("name", "a\u{7f}", MAX_NAME_CHARS).is_err());
        assert!(check_text("name", &"é".repeat(100), MAX_NAME_CHARS).is_ok());
        let err = check_text("name", &"é".repeat(101), MAX_NAME_CHARS).unwrap_err();
        assert!(err.contains("longer than 100") && err.len() < 200, "{err}");
    }

    #[test]
    fn ranges_end_five_years_ahead() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(max_date(today), NaiveDate::from_ymd_opt(2031, 11, 30).unwrap());
        assert_eq!(max_date(NaiveDate::MAX), NaiveDate::MAX);
    }

    #[test]
    fn file_names_lose_their_path_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\ann\\usage.csv"), "usage.csv");
        assert_eq!(clean_file_name("../../etc/usage\n.xlsx"), "usage.xlsx");
        assert_eq!(clean_file_name(" \u{7} "), "upload");
        assert_eq!(clean_file_name(&"a".repeat(500)).len(), MAX_FILE_NAME_CHARS);
    }
}
