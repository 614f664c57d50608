//! Table writers: one table (header + rows of [`Cell`]s) into CSV (RFC 4180,
//! UTF-8, streamed) or XLSX (rust_xlsxwriter in constant-memory mode, split
//! into further sheets past Excel's row limit). Both neutralise text that a
//! spreadsheet would run as a formula.

use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The byte order mark that starts every CSV file.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rows of an Excel sheet, the header row included.
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// One value of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Date(NaiveDate),
    Empty,
}

/// What the file says about itself: a comment line first in CSV, an "About"
/// sheet first in XLSX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportMeta {
    pub report_title: String,
    pub team_name: String,
    pub team_slug: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub generated_at: DateTime<Utc>,
    /// The data rows (header rows not counted).
    pub rows: u64,
}

impl ExportMeta {
    fn pairs(&self) -> [(&'static str, String); 6] {
        [
            ("Report", self.report_title.clone()),
            ("Team", format!("{} ({})", self.team_name, self.team_slug)),
            ("Range", format!("{} to {}", self.from, self.to)),
            ("Time zone", self.time_zone.clone()),
            ("Generated at", self.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ("Rows", self.rows.to_string()),
        ]
    }
}

/// A cell a spreadsheet would read as a formula (or a control character)
/// gets a leading apostrophe, so it stays text (OWASP "CSV injection").
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// The most characters an Excel cell holds.
pub const XLSX_MAX_CELL_CHARS: usize = 32_767;
/// Ends a text cut to fit a cell, so a reader sees it was cut.
const CUT_MARKER: &str = "… [cut: longer than an Excel cell holds]";

/// `text` as an Excel cell takes it: whole, or cut with [`CUT_MARKER`] at
/// the end (CSV keeps every character).
fn fit_cell(text: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= XLSX_MAX_CELL_CHARS {
        return text;
    }
    let keep = XLSX_MAX_CELL_CHARS - CUT_MARKER.chars().count();
    text.chars().take(keep).chain(CUT_MARKER.chars()).collect::<String>().into()
}

/// Where the rows of one export go.
pub trait TableSink {
    fn header(&mut self, columns: &[&str]) -> io::Result<()>;
    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("excel writer: {0}")]
    Xlsx(#[from] XlsxError),
}

fn xlsx_io(e: XlsxError) -> io::Error {
    io::Error::other(e)
}

/// CSV into any writer, made to open cleanly in Excel: a UTF-8 byte order
/// mark (else Excel on Windows garbles accented names), then the column
/// header. With `about` (opt-in, `?about=1`) a `#` comment line holding
/// [`ExportMeta`] comes between the two (the csv crate, which drops the BOM,
/// skips it with `comment(b'#')`; so does Tokenboard's import).
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    int: itoa::Buffer,
    /// The last date written and its text: charges come in date order.
    date: Option<(NaiveDate, String)>,
}

impl<W: Write> CsvSink<W> {
    pub fn new(mut out: W, about: Option<&ExportMeta>) -> io::Result<CsvSink<W>> {
        out.write_all(UTF8_BOM)?;
        if let Some(meta) = about {
            let line: Vec<String> = meta.pairs().iter().map(|(k, v)| format!("{k}: {v}")).collect();
            writeln!(out, "# Tokenboard export; {}", line.join("; ").replace(['\r', '\n'], " "))?;
        }
        Ok(CsvSink { writer: csv::WriterBuilder::new().from_writer(out), int: itoa::Buffer::new(), date: None })
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

impl<W: Write> TableSink for CsvSink<W> {
    fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        self.writer.write_record(columns)?;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        for cell in cells {
            match *cell {
                Cell::Text(text) => self.writer.write_field(neutralise(text).as_bytes())?,
                Cell::Int(n) => self.writer.write_field(self.int.format(n))?,
                Cell::Date(date) => {
                    if self.date.as_ref().is_none_or(|(d, _)| *d != date) {
                        self.date = Some((date, date.format("%Y-%m-%d").to_string()));
                    }
                    let text = &self.date.as_ref().expect("set above").1;
                    self.writer.write_field(text)?
                }
                Cell::Empty => self.writer.write_field([])?,
            }
        }
        self.writer.write_record(None::<&[u8]>)?;
        Ok(())
    }
}

/// XLSX written row by row to a file: an "About" sheet, then data sheets of
/// at most [`XLSX_MAX_ROWS`] rows each, every one with the header row.
pub struct XlsxSink {
    workbook: Workbook,
    sheet_title: String,
    columns: Vec<String>,
    /// Index of the current data sheet in the workbook.
    sheet: usize,
    sheets: usize,
    next_row: u32,
    date_format: Format,
    header_format: Format,
    /// Columns of the current sheet formatted as dates: their cells are
    /// written unformatted and take the column's format (no lookup per cell).
    date_columns: Vec<u16>,
}

impl XlsxSink {
    /// `sheet_title`: the data sheets' name ("Token usage", "Token usage 2", …).
    pub fn new(sheet_title: &str, temp_dir: &Path) -> Result<XlsxSink, WriteError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(temp_dir)?;
        // Fast deflate: throughput matters more than a few percent of size.
        workbook.set_zip_compression_level(1);
        workbook.use_zip_large_file(true);
        workbook.add_worksheet().set_name("About")?;
        Ok(XlsxSink {
            workbook,
            sheet_title: sheet_title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(25).collect(),
            columns: Vec::new(),
            sheet: 0,
            sheets: 0,
            next_row: XLSX_MAX_ROWS,
            date_format: Format::new().set_num_format("yyyy-mm-dd"),
            header_format: Format::new().set_bold(),
            date_columns: Vec::new(),
        })
    }

    /// The header row of the current data sheet stays in view and filters
    /// its rows (set once the sheet's last row is known).
    fn close_sheet(&mut self) -> Result<(), XlsxError> {
        if self.sheets == 0 || self.columns.is_empty() {
            return Ok(());
        }
        let last_row = self.next_row.saturating_sub(1);
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, last_row, self.columns.len() as u16 - 1)?;
        Ok(())
    }

    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.close_sheet()?;
        self.sheets += 1;
        let name =
            if self.sheets == 1 { self.sheet_title.clone() } else { format!("{} {}", self.sheet_title, self.sheets) };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, title) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, title, &self.header_format)?;
        }
        self.sheet = self.workbook.worksheets().len() - 1;
        self.next_row = 1;
        self.date_columns.clear();
        Ok(())
    }

    /// Fills the About sheet and writes the file.
    pub fn finish(mut self, meta: &ExportMeta, path: &Path) -> Result<(), WriteError> {
        if self.sheets == 0 {
            self.new_sheet()?;
        }
        self.close_sheet()?;
        let about = self.workbook.worksheet_from_index(0)?;
        for (row, (key, value)) in meta.pairs().iter().enumerate() {
            about.write_string(row as u32, 0, *key)?;
            about.write_string(row as u32, 1, value.as_str())?;
        }
        about.set_column_width(0, 14)?;
        about.set_column_width(1, 40)?;
        self.workbook.save(path)?;
        Ok(())
    }
}

impl TableSink for XlsxSink {
    fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        self.columns = columns.iter().map(|c| c.to_string()).collect();
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if self.next_row >= XLSX_MAX_ROWS {
            self.new_sheet().map_err(xlsx_io)?;
        }
        let row = self.next_row;
        // Borrow the sheet, the date format and the date columns side by side.
        let date_format = &self.date_format;
        let sheet = self.workbook.worksheet_from_index(self.sheet).map_err(xlsx_io)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match *cell {
                Cell::Text(text) => {
                    sheet.write_string(row, col, fit_cell(neutralise(text))).map_err(xlsx_io)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(row, col, n as f64).map_err(xlsx_io)?;
                }
                Cell::Date(date) => {
                    if !self.date_columns.contains(&col) {
                        sheet.set_column_format(col, date_format).map_err(xlsx_io)?;
                        self.date_columns.push(col);
                    }
                    sheet.write_datetime(row, col, date).map_err(xlsx_io)?;
                }
                Cell::Empty => {}
            }
        }
        self.next_row += 1;
        Ok(())
    }
}

/// A table kept in memory, to count its rows before the file's header is
/// written (every export but token usage is small and computed whole).
#[derive(Clone, Debug, Default)]
pub struct RecordedTable {
    columns: Vec<String>,
    rows: Vec<Vec<OwnedCell>>,
}

#[derive(Clone, Debug)]
enum OwnedCell {
    Text(String),
    Int(i64),
    Date(NaiveDate),
    Empty,
}

impl RecordedTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table into another sink.
    pub fn replay(&self, sink: &mut dyn TableSink) -> io::Result<()> {
        let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        sink.header(&columns)?;
        let mut cells = Vec::with_capacity(columns.len());
        for row in &self.rows {
            cells.clear();
            cells.extend(row.iter().map(|cell| match cell {
                OwnedCell::Text(text) => Cell::Text(text),
                OwnedCell::Int(n) => Cell::Int(*n),
                OwnedCell::Date(date) => Cell::Date(*date),
                OwnedCell::Empty => Cell::Empty,
            }));
            sink.row(&cells)?;
        }
        Ok(())
    }
}

impl TableSink for RecordedTable {
    fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        self.columns = columns.iter().map(|c| c.to_string()).collect();
        Ok(())
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        self.rows.push(
            cells
                .iter()
                .map(|cell| match *cell {
                    Cell::Text(text) => OwnedCell::Text(text.to_owned()),
                    Cell::Int(n) => OwnedCell::Int(n),
                    Cell::Date(date) => OwnedCell::Date(date),
                    Cell::Empty => OwnedCell::Empty,
                })
                .collect(),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a January 2026 token-usage file of "Design, Inc" says about itself.
    fn january_meta() -> ExportMeta {
        ExportMeta {
            report_title: "Token usage".into(),
            team_name: "Design, Inc".into(),
            team_slug: "design".into(),
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
            time_zone: "Europe/Berlin".into(),
            generated_at: DateTime::from_timestamp(0, 0).unwrap(),
            rows: 1,
        }
    }

    #[test]
    fn formula_starters_are_neutralised_and_other_text_is_not() {
        for text in ["=SUM(A1)", "+1", "-2+3", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralise(text), format!("'{text}"));
        }
        for text in ["Revit", "a=b", "", "2024"] {
            assert_eq!(neutralise(text), text);
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_the_header_the_comment_line_is_opt_in() {
        let meta = january_meta();
        let write = |about: Option<&ExportMeta>| {
            let mut sink = CsvSink::new(Vec::new(), about).unwrap();
            sink.header(&["Name", "Tokens", "Day"]).unwrap();
            sink.row(&[Cell::Text("=1+1, \"quoted\""), Cell::Int(-5), Cell::Date(meta.from)]).unwrap();
            sink.finish().unwrap()
        };
        let plain = write(None);
        let text = std::str::from_utf8(plain.strip_prefix(UTF8_BOM).expect("a BOM first")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("Name,Tokens,Day"));
        assert_eq!(lines.next(), Some("\"'=1+1, \"\"quoted\"\"\",-5,2026-01-01"));

        let with_about = write(Some(&meta));
        let text = std::str::from_utf8(with_about.strip_prefix(UTF8_BOM).expect("a BOM first")).unwrap();
        let mut lines = text.lines();
        assert!(
            lines.next().unwrap().starts_with("# Tokenboard export; Report: Token usage; Team: Design, Inc (design)")
        );
        assert_eq!(lines.next(), Some("Name,Tokens,Day"));
    }

    /// Issue 14: a text over 32,767 characters made the Excel export fail
    /// with 500. It is cut to fit, visibly; shorter texts stay whole.
    #[test]
    fn a_text_longer_than_an_excel_cell_is_cut_with_a_marker() {
        use calamine::{Reader, Xlsx, open_workbook};
        let dir = tempfile::tempdir().unwrap();
        let mut sink = XlsxSink::new("Token usage", dir.path()).unwrap();
        sink.header(&["Feature", "Short"]).unwrap();
        let long = "é".repeat(40_000);
        sink.row(&[Cell::Text(&long), Cell::Text("kept")]).unwrap();
        let path = dir.path().join("cut.xlsx");
        sink.finish(&january_meta(), &path).unwrap();
        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        let sheet = book.worksheet_range("Token usage").unwrap();
        let cell = sheet.get((1, 0)).unwrap().to_string();
        assert_eq!(cell.chars().count(), XLSX_MAX_CELL_CHARS);
        assert!(cell.starts_with("éé") && cell.ends_with(CUT_MARKER), "{}", &cell[cell.len() - 60..]);
        assert_eq!(sheet.get((1, 1)).unwrap().to_string(), "kept");
    }
}
