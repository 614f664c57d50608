//! Reading a usage CSV: header matching, per-line validation and the error
//! list. Pure (no database): imports the domain's value rules and this module's types.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{ChargeRow, ImportError, LineError};
use crate::domain::teams::Team;
use crate::domain::values::{
    MAX_EMAIL_CHARS, MAX_FEATURE_CHARS, MAX_NAME_CHARS, MAX_PRODUCT_CHARS, MAX_TOKENS_PER_CHARGE, MAX_VERSION_CHARS,
    MIN_DATE, check_text, quote,
};

/// Most line errors reported for one file; the rest are summarised.
const MAX_REPORTED_ERRORS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    Team,
    FirstName,
    LastName,
    Email,
    Product,
    ProductVersion,
    Feature,
    UsageDate,
    TokensUsed,
}

impl Column {
    const REQUIRED: [Column; 4] = [Column::Email, Column::Product, Column::UsageDate, Column::TokensUsed];

    /// Matches a header after normalisation (lower case, letters and digits
    /// only), so "Usage date", "usage_date" and "USAGE-DATE" are one column.
    fn from_header(header: &str) -> Option<Column> {
        let key: String = header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
        Some(match key.as_str() {
            "team" | "teamname" => Column::Team,
            "firstname" | "givenname" => Column::FirstName,
            "lastname" | "surname" | "familyname" => Column::LastName,
            "email" | "emailaddress" | "useremail" => Column::Email,
            "product" | "productname" => Column::Product,
            "productversion" | "version" => Column::ProductVersion,
            "feature" | "usagetype" | "featureusagetype" => Column::Feature,
            "usagedate" | "date" => Column::UsageDate,
            "tokensused" | "tokens" | "tokensconsumed" => Column::TokensUsed,
            _ => return None,
        })
    }

    fn title(self) -> &'static str {
        match self {
            Column::Team => "team",
            Column::FirstName => "first name",
            Column::LastName => "last name",
            Column::Email => "email",
            Column::Product => "product",
            Column::ProductVersion => "product version",
            Column::Feature => "feature",
            Column::UsageDate => "usage date",
            Column::TokensUsed => "tokens used",
        }
    }
}

/// Collects line errors up to [`MAX_REPORTED_ERRORS`].
#[derive(Default)]
struct Problems {
    errors: Vec<LineError>,
    suppressed: u64,
}

impl Problems {
    fn push(&mut self, line: u64, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(LineError { line, message: message.into() });
        } else {
            self.suppressed += 1;
        }
    }

    fn into_result<T>(mut self, value: T) -> Result<T, ImportError> {
        if self.errors.is_empty() {
            return Ok(value);
        }
        if self.suppressed > 0 {
            let line = self.errors.last().map_or(0, |e| e.line);
            self.errors.push(LineError { line, message: format!("{} further errors not shown", self.suppressed) });
        }
        Err(ImportError::Rejected(self.errors))
    }
}

fn parse_tokens(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    let value = raw
        .parse::<i64>()
        .ok()
        .or_else(|| raw.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64))
        .ok_or_else(|| format!("tokens used {} is not a whole number", quote(raw)))?;
    if value < 0 {
        return Err(format!("negative tokens ({value}) are not allowed"));
    }
    if value > MAX_TOKENS_PER_CHARGE {
        return Err(format!("tokens used ({value}) is above the maximum of {MAX_TOKENS_PER_CHARGE} per charge"));
    }
    Ok(value)
}

/// The longest text a usage date can be ("2026-11-27" with some spaces):
/// longer is refused before any parsing.
const MAX_DATE_CHARS: usize = 32;

fn parse_usage_date(raw: &str, latest_date: NaiveDate) -> Result<NaiveDate, String> {
    let not_a_date = || format!("usage date {} is not a date (YYYY-MM-DD)", quote(raw));
    if raw.len() > MAX_DATE_CHARS {
        return Err(not_a_date());
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| not_a_date())?;
    if date < MIN_DATE {
        return Err(format!("usage date {date} is before {MIN_DATE}, the earliest date Tokenboard keeps"));
    }
    if date > latest_date {
        return Err(format!("usage date {date} is in the future (today is {latest_date})"));
    }
    Ok(date)
}

/// Parses and validates a whole usage file for `team`. `latest_date` is the
/// last acceptable usage date (the team's today): charges cannot be in the
/// future. Every text is bounded and free of control characters
/// ([`crate::domain::values`]).
pub fn parse_usage_csv(input: &[u8], team: &Team, latest_date: NaiveDate) -> Result<Vec<ChargeRow>, ImportError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut problems = Problems::default();
    // `#` lines are comments: Tokenboard's own exports start with one.
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(false).comment(Some(b'#')).from_reader(input);
    let mut records = reader.byte_records();

    let header = match records.next() {
        None => return problems_with(1, "the file is empty: expected a header row"),
        Some(Err(e)) => return problems_with(1, format!("unreadable header: {e}")),
        Some(Ok(h)) => h,
    };
    let mut columns: HashMap<Column, usize> = HashMap::new();
    for (index, raw) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            return problems_with(1, "the header is not valid UTF-8");
        };
        if let Some(column) = Column::from_header(name)
            && columns.insert(column, index).is_some()
        {
            return problems_with(1, format!("column {:?} appears twice", column.title()));
        }
    }
    let missing: Vec<&str> = Column::REQUIRED.iter().filter(|c| !columns.contains_key(c)).map(|c| c.title()).collect();
    if !missing.is_empty() {
        return problems_with(1, format!("missing required column(s): {}", missing.join(", ")));
    }

    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("expected {expected_len} fields, found {len}")
                    }
                    other => format!("unreadable CSV: {other:?}"),
                };
                problems.push(line, message);
                // A structural error makes the rest of the file unreliable.
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let mut field = |column: Column| -> Option<String> {
            let raw = columns.get(&column).and_then(|&i| record.get(i)).unwrap_or(b"");
            match std::str::from_utf8(raw) {
                Ok(s) => Some(s.trim().to_owned()),
                Err(_) => {
                    problems.push(line, format!("{} is not valid UTF-8", column.title()));
                    None
                }
            }
        };
        let (
            Some(team_name),
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(product),
            Some(version),
            Some(feature),
            Some(date),
            Some(tokens),
        ) = (
            field(Column::Team),
            field(Column::FirstName),
            field(Column::LastName),
            field(Column::Email),
            field(Column::Product),
            field(Column::ProductVersion),
            field(Column::Feature),
            field(Column::UsageDate),
            field(Column::TokensUsed),
        )
        else {
            continue;
        };
        let errors_before = problems.errors.len() as u64 + problems.suppressed;
        if !team_name.is_empty()
            && !team_name.eq_ignore_ascii_case(&team.slug)
            && !team_name.eq_ignore_ascii_case(&team.name)
        {
            problems
                .push(line, format!("unknown team {}: this file is imported into {:?}", quote(&team_name), team.name));
        }
        let texts = [
            ("first name", &first_name, MAX_NAME_CHARS),
            ("last name", &last_name, MAX_NAME_CHARS),
            ("email", &email, MAX_EMAIL_CHARS),
            ("product", &product, MAX_PRODUCT_CHARS),
            ("product version", &version, MAX_VERSION_CHARS),
            ("feature", &feature, MAX_FEATURE_CHARS),
        ];
        for (what, value, max) in texts {
            if let Err(message) = check_text(what, value, max) {
                problems.push(line, message);
            }
        }
        if !email.contains('@') {
            problems.push(line, format!("email {} is not an e-mail address", quote(&email)));
        }
        if product.is_empty() {
            problems.push(line, "product is empty");
        }
        let usage_date = parse_usage_date(&date, latest_date).map_err(|m| problems.push(line, m)).ok();
        let tokens = parse_tokens(&tokens).map_err(|m| problems.push(line, m)).ok();
        let failed = problems.errors.len() as u64 + problems.suppressed > errors_before;
        if let (false, Some(usage_date), Some(tokens)) = (failed, usage_date, tokens) {
            rows.push(ChargeRow {
                email: email.to_lowercase(),
                first_name,
                last_name,
                product,
                product_version: version,
                feature,
                usage_date,
                tokens,
            });
        }
    }
    problems.into_result(rows)
}

fn problems_with<T>(line: u64, message: impl Into<String>) -> Result<T, ImportError> {
    Err(ImportError::Rejected(vec![LineError { line, message: message.into() }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Team {
        Team { id: 1, slug: "design".into(), name: "Design Team".into(), time_zone: "UTC".into(), personal_data: true }
    }

    fn today() -> NaiveDate {
        "2026-11-27".parse().unwrap()
    }

    fn rejected(input: &str) -> Vec<LineError> {
        match parse_usage_csv(input.as_bytes(), &team(), today()) {
            Err(ImportError::Rejected(errors)) => errors,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn headers_match_loosely_in_any_order_with_bom_and_crlf() {
        let input =
            "\u{feff}Tokens_Used,USAGE-DATE,e mail address,Product,Extra\r\n7,2026-11-02,Ann@Example.com,Revit,x\r\n";
        let rows = parse_usage_csv(input.as_bytes(), &team(), today()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].email, "ann@example.com");
        assert_eq!(rows[0].tokens, 7);
        assert_eq!(rows[0].usage_date, "2026-11-02".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn each_bad_row_is_reported_with_its_line() {
        let errors = rejected(
            "email,product,usage date,tokens used\n\
             a@x.com,Revit,2026-11-31,7\n\
             b@x.com,Revit,2026-11-02,-3\n\
             c@x.com,Revit,2026-11-02,seven\n\
             d@x.com,Revit,2027-01-01,1\n",
        );
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert!(errors[0].message.contains("not a date"));
        assert!(errors[1].message.contains("negative tokens"));
        assert!(errors[2].message.contains("not a whole number"));
        assert!(errors[3].message.contains("future"));
    }

    #[test]
    fn structural_errors() {
        let e = rejected("email,product,tokens used\na@x.com,Revit,7\n");
        assert_eq!((e[0].line, e[0].message.as_str()), (1, "missing required column(s): usage date"));
        let e = rejected("email,product,usage date,tokens used\na@x.com,Revit,2026-11-02\n");
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("expected 4 fields, found 3"), "{}", e[0].message);
        let e = rejected("team,email,product,usage date,tokens used\nOther,a@x.com,Revit,2026-11-02,1\n");
        assert!(e[0].message.contains("unknown team \"Other\""));
        let mut bytes = b"email,product,usage date,tokens used\na@x.com,Rev".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"it,2026-11-02,1\n");
        match parse_usage_csv(&bytes, &team(), today()) {
            Err(ImportError::Rejected(e)) => {
                assert_eq!((e[0].line, e[0].message.as_str()), (2, "product is not valid UTF-8"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected("")[0].message, "the file is empty: expected a header row");
    }

    #[test]
    fn team_column_may_name_the_team_by_slug_or_name() {
        let input = "Team,Email,Product,Usage date,Tokens used\ndesign,a@x.com,Revit,2026-11-02,1\nDESIGN TEAM,b@x.com,Revit,2026-11-02,1\n";
        assert_eq!(parse_usage_csv(input.as_bytes(), &team(), today()).unwrap().len(), 2);
    }
}
