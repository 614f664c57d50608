//! Reading a usage file: header matching (the vendor's names too), per-row
//! validation and the error list. Pure (no database): imports the domain's
//! value rules, the record readers and the date forms.

use std::collections::HashMap;
use std::io::{Read, Seek};

use chrono::NaiveDate;

use super::dates::{DateFormat, SlashEvidence, parse_date, slash_evidence};
use super::records::{Field, Record, Records};
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
            "usagedate" | "date" | "dayused" | "dateused" | "usagedateutc" => Column::UsageDate,
            "tokensused" | "tokens" | "tokensconsumed" | "tokenusage" => Column::TokensUsed,
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
    fn count(&self) -> u64 {
        self.errors.len() as u64 + self.suppressed
    }

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
        Err(ImportError::Rejected(self.errors, None))
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

/// How the slash dates of a file read: as `--date-format` names them, or as
/// the first slash date with a part above 12 shows. A file whose slash
/// dates could all be read either way is refused: guessing would put every
/// charge on the wrong day without a sign.
pub fn slash_order_of<R: Read + Seek>(input: R, named: Option<DateFormat>) -> Result<Option<DateFormat>, ImportError> {
    if named.is_some() {
        return Ok(named);
    }
    let (mut records, header) = Records::open(input, is_header).map_err(|e| ImportError::Rejected(vec![e], None))?;
    let Some(&date_index) = header_columns(&header)?.get(&Column::UsageDate) else {
        return Ok(None);
    };
    let mut first_ambiguous: Option<(u64, String)> = None;
    while let Some(Ok(record)) = records.next_record() {
        let Some(Ok(raw)) = record.fields.get(date_index) else { continue };
        match slash_evidence(raw) {
            SlashEvidence::Shows(order) => return Ok(Some(order)),
            SlashEvidence::Ambiguous if first_ambiguous.is_none() => first_ambiguous = Some((record.line, raw.clone())),
            SlashEvidence::Ambiguous => {}
            // A file writes its dates one way: an ISO or dotted date says it
            // is not a slash-date file (a stray slash date is a line error).
            SlashEvidence::None if !raw.is_empty() && first_ambiguous.is_none() => return Ok(None),
            SlashEvidence::None => {}
        }
    }
    match first_ambiguous {
        None => Ok(None),
        Some((line, example)) => problems_with(
            line,
            format!(
                "the usage dates (such as {}) read as month/day and as day/month alike throughout the file: \
                 name the order with --date-format M/D/YYYY or --date-format D/M/YYYY",
                quote(&example)
            ),
        ),
    }
}

/// Reads and validates a usage file for one team, a chunk of charges at a
/// time, so a file of any size passes through bounded memory. Rows with
/// problems are reported (up to [`MAX_REPORTED_ERRORS`]) and not answered.
pub struct UsageRows<R: Read> {
    records: Records<R>,
    columns: HashMap<Column, usize>,
    team_slug: String,
    team_name: String,
    /// The last acceptable usage date (the team's today).
    latest_date: NaiveDate,
    slash_order: Option<DateFormat>,
    problems: Problems,
    /// A structural error or a refused file: nothing after it is read.
    stopped: bool,
}

impl<R: Read + Seek> UsageRows<R> {
    /// Opens `input` (CSV or `.xlsx`) and checks its header; `slash_order`
    /// comes from [`slash_order_of`].
    pub fn open(
        input: R,
        team: &Team,
        latest_date: NaiveDate,
        slash_order: Option<DateFormat>,
    ) -> Result<UsageRows<R>, ImportError> {
        let (records, header) = Records::open(input, is_header).map_err(|e| ImportError::Rejected(vec![e], None))?;
        let columns = header_columns(&header)?;
        Ok(UsageRows {
            records,
            columns,
            team_slug: team.slug.clone(),
            team_name: team.name.clone(),
            latest_date,
            slash_order,
            problems: Problems::default(),
            stopped: false,
        })
    }
}

impl<R: Read> UsageRows<R> {
    /// Up to `max` valid charges; empty at the end of the file.
    pub fn next_chunk(&mut self, max: usize) -> Vec<ChargeRow> {
        let mut rows = Vec::with_capacity(max.min(16 * 1024));
        while rows.len() < max && !self.stopped {
            match self.records.next_record() {
                None => self.stopped = true,
                Some(Err(e)) => {
                    self.problems.push(e.line, e.message);
                    self.stopped = true;
                }
                Some(Ok(record)) => {
                    if let Some(row) = self.charge(&record) {
                        rows.push(row);
                    }
                }
            }
        }
        rows
    }

    /// Bytes of a CSV read so far (`None` for a sheet, read whole).
    pub fn bytes_read(&self) -> Option<u64> {
        self.records.bytes_read()
    }

    /// Whether any row was refused so far (the import will be rejected).
    pub fn has_problems(&self) -> bool {
        !self.problems.errors.is_empty()
    }

    /// The file's verdict once every chunk was read.
    pub fn finish(self) -> Result<(), ImportError> {
        self.problems.into_result(())
    }

    /// One row as a charge, or `None` (blank, or refused with its reasons).
    fn charge(&mut self, record: &Record) -> Option<ChargeRow> {
        let line = record.line;
        if record.fields.iter().all(|f| f.as_ref().is_ok_and(|s| s.is_empty())) {
            return None;
        }
        let errors_before = self.problems.count();
        let mut field = |column: Column| -> String {
            let Some(raw) = self.columns.get(&column).and_then(|&i| record.fields.get(i)) else {
                return String::new();
            };
            raw.clone().unwrap_or_else(|()| {
                self.problems.push(line, format!("{} is not valid UTF-8", column.title()));
                String::new()
            })
        };
        let team_name = field(Column::Team);
        let first_name = field(Column::FirstName);
        let last_name = field(Column::LastName);
        let email = field(Column::Email);
        let product = field(Column::Product);
        let version = field(Column::ProductVersion);
        let feature = field(Column::Feature);
        let date = field(Column::UsageDate);
        let tokens = field(Column::TokensUsed);
        if self.problems.count() > errors_before {
            return None;
        }
        if is_pseudonym(&email) {
            // One clear reason instead of an "is not an e-mail" per line.
            self.problems = Problems::default();
            self.problems.push(
                line,
                format!(
                    "this file was exported with personal data off: its users are pseudonyms such as {}, \
                     which cannot be imported (export it again with personal data on)",
                    quote(&email)
                ),
            );
            self.stopped = true;
            return None;
        }
        let problems = &mut self.problems;
        if !team_name.is_empty()
            && !team_name.eq_ignore_ascii_case(&self.team_slug)
            && !team_name.eq_ignore_ascii_case(&self.team_name)
        {
            problems.push(
                line,
                format!("unknown team {}: this file is imported into {:?}", quote(&team_name), self.team_name),
            );
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
        let usage_date = self.usage_date(&date).map_err(|m| self.problems.push(line, m)).ok();
        let tokens = parse_tokens(&tokens).map_err(|m| self.problems.push(line, m)).ok();
        if self.problems.count() > errors_before {
            return None;
        }
        Some(ChargeRow {
            email: email.to_lowercase(),
            first_name,
            last_name,
            product,
            product_version: version,
            feature,
            usage_date: usage_date?,
            tokens: tokens?,
        })
    }

    fn usage_date(&self, raw: &str) -> Result<NaiveDate, String> {
        let date = parse_date(raw, self.slash_order)?;
        if date < MIN_DATE {
            return Err(format!("usage date {date} is before {MIN_DATE}, the earliest date Tokenboard keeps"));
        }
        if date > self.latest_date {
            return Err(format!("usage date {date} is in the future (today is {})", self.latest_date));
        }
        Ok(date)
    }
}

/// The e-mail column of an export made with personal data off holds
/// `u-` and 16 hex digits ([`crate::report::privacy::PseudonymKey`]).
fn is_pseudonym(email: &str) -> bool {
    email.strip_prefix("u-").is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A row names every required column (sheets may have a title above it).
fn is_header(fields: &[Field]) -> bool {
    let found: Vec<Column> =
        fields.iter().filter_map(|f| f.as_ref().ok()).filter_map(|name| Column::from_header(name)).collect();
    Column::REQUIRED.iter().all(|c| found.contains(c))
}

/// The columns of a header row, by position; refuses a header with a
/// required column missing or a column twice.
fn header_columns(header: &Record) -> Result<HashMap<Column, usize>, ImportError> {
    let mut columns: HashMap<Column, usize> = HashMap::new();
    for (index, name) in header.fields.iter().enumerate() {
        let Ok(name) = name else {
            return problems_with(header.line, "the header is not valid UTF-8");
        };
        if let Some(column) = Column::from_header(name)
            && columns.insert(column, index).is_some()
        {
            return problems_with(header.line, format!("column {:?} appears twice", column.title()));
        }
    }
    let missing: Vec<&str> = Column::REQUIRED.iter().filter(|c| !columns.contains_key(c)).map(|c| c.title()).collect();
    if !missing.is_empty() {
        return problems_with(header.line, format!("missing required column(s): {}", missing.join(", ")));
    }
    Ok(columns)
}

fn problems_with<T>(line: u64, message: impl Into<String>) -> Result<T, ImportError> {
    Err(ImportError::Rejected(vec![LineError { line, message: message.into() }], None))
}

/// Reads a whole (small) file into charges, for the tests below.
#[cfg(test)]
fn parse_usage_file(
    input: &[u8],
    team: &Team,
    latest_date: NaiveDate,
    date_format: Option<DateFormat>,
) -> Result<Vec<ChargeRow>, ImportError> {
    let slash_order = slash_order_of(std::io::Cursor::new(input), date_format)?;
    let mut rows = UsageRows::open(std::io::Cursor::new(input), team, latest_date, slash_order)?;
    let mut all = Vec::new();
    loop {
        let chunk = rows.next_chunk(10_000);
        if chunk.is_empty() {
            break;
        }
        all.extend(chunk);
    }
    rows.finish()?;
    Ok(all)
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
        match parse_usage_file(input.as_bytes(), &team(), today(), None) {
            Err(ImportError::Rejected(errors, _)) => errors,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn headers_match_loosely_in_any_order_with_bom_and_crlf() {
        let input =
            "\u{feff}Tokens_Used,USAGE-DATE,e mail address,Product,Extra\r\n7,2026-11-02,Ann@Example.com,Revit,x\r\n";
        let rows = parse_usage_file(input.as_bytes(), &team(), today(), None).unwrap();
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
        match parse_usage_file(&bytes, &team(), today(), None) {
            Err(ImportError::Rejected(e, _)) => {
                assert_eq!((e[0].line, e[0].message.as_str()), (2, "product is not valid UTF-8"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rejected("")[0].message, "the file is empty: expected a header row");
    }

    #[test]
    fn team_column_may_name_the_team_by_slug_or_name() {
        let input = "Team,Email,Product,Usage date,Tokens used\ndesign,a@x.com,Revit,2026-11-02,1\nDESIGN TEAM,b@x.com,Revit,2026-11-02,1\n";
        assert_eq!(parse_usage_file(input.as_bytes(), &team(), today(), None).unwrap().len(), 2);
    }

    #[test]
    fn the_vendors_header_names_and_date_forms_import() {
        let dates = ["2026-11-02", "2026-11-02T10:00:00Z", "2.11.2026", "11/2/2026"];
        for (date_header, tokens_header) in [
            ("Day used", "Tokens"),
            ("Date used", "Tokens used"),
            ("Date", "Token usage"),
            ("Usage date (UTC)", "Tokens consumed"),
        ] {
            for email_header in ["Email", "Email address", "User email"] {
                for date in dates {
                    let input = format!(
                        "Given name,Surname,{email_header},Product name,Product version,{date_header},{tokens_header}\n\
                         Ann,Lee,ann@x.com,Revit,2026,\"{date}\",7\n"
                    );
                    let format = date.contains('/').then_some(DateFormat::MonthFirst);
                    let rows = parse_usage_file(input.as_bytes(), &team(), today(), format)
                        .unwrap_or_else(|e| panic!("{date_header}/{email_header}/{date}: {e}"));
                    assert_eq!(rows[0].usage_date, "2026-11-02".parse::<NaiveDate>().unwrap(), "{date}");
                    assert_eq!((rows[0].first_name.as_str(), rows[0].last_name.as_str()), ("Ann", "Lee"));
                    assert_eq!((rows[0].product_version.as_str(), rows[0].tokens), ("2026", 7));
                }
            }
        }
        let family = "First name,Family name,Email,Product,Version,Date,Tokens\nAnn,Lee,a@x.com,Revit,1,2026-11-02,1\n";
        assert_eq!(parse_usage_file(family.as_bytes(), &team(), today(), None).unwrap()[0].last_name, "Lee");
    }

    #[test]
    fn semicolon_files_and_the_slash_order_found_in_the_file() {
        let input = "Email;Product;Day used;Tokens\na@x.com;Revit;3/4/2026;1\nb@x.com;Revit;13/4/2026;2\n";
        let rows = parse_usage_file(input.as_bytes(), &team(), today(), None).unwrap();
        let days: Vec<String> = rows.iter().map(|r| r.usage_date.to_string()).collect();
        assert_eq!(days, ["2026-04-03", "2026-04-13"], "13/4 shows day first, so 3/4 is April 3rd");
        let us = "Email,Product,Day used,Tokens\na@x.com,Revit,3/4/2026,1\nb@x.com,Revit,4/13/2026,2\n";
        let rows = parse_usage_file(us.as_bytes(), &team(), today(), None).unwrap();
        assert_eq!(rows[0].usage_date.to_string(), "2026-03-04");
    }

    #[test]
    fn ambiguous_slash_dates_are_refused_naming_date_format() {
        let input = "Email,Product,Day used,Tokens\na@x.com,Revit,3/4/2026,1\nb@x.com,Revit,5/6/2026,1\n";
        let errors = rejected(input);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("--date-format"), "{}", errors[0].message);
        let rows = parse_usage_file(input.as_bytes(), &team(), today(), Some(DateFormat::DayFirst)).unwrap();
        assert_eq!(rows[1].usage_date.to_string(), "2026-06-05");
    }

    #[test]
    fn a_pseudonymised_export_is_refused_with_one_reason() {
        let input = "First name,Last name,Email,Product,Usage date,Tokens used\n\
                     *****,*****,u-0123456789abcdef,Revit,2026-11-02,1\n\
                     *****,*****,u-fedcba9876543210,Revit,2026-11-02,1\n";
        let errors = rejected(input);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("personal data off"), "{}", errors[0].message);
    }
}
