//! The rows of a usage file as text fields with their line (CSV) or sheet
//! row (Excel), whatever the container: CSV with `,` or `;` (found from the
//! header line), or an `.xlsx` workbook (the sheet that holds the header,
//! found within its first rows; date cells as dates). CSV streams from its
//! reader; a workbook sheet is read whole, as calamine does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Seek};

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

use super::LineError;

/// How many rows of a sheet are searched for the header.
const HEADER_SEARCH_ROWS: usize = 20;

/// One field: its text, or `Err` when a CSV field is not UTF-8.
pub(super) type Field = Result<String, ()>;

/// One row of a file: the line (CSV) or sheet row (Excel) it started on.
pub(super) struct Record {
    pub line: u64,
    pub fields: Vec<Field>,
}

/// An `.xlsx` file is a zip archive: it starts with a local file header.
pub(super) fn is_xlsx(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(b"PK\x03\x04")
}

/// Counts the lines of what the CSV reader reads, so a record's line comes
/// from its byte offset. (The csv crate's own line numbers are one short
/// after every `\r\n`: it takes a record's position at the `\n` ending the
/// line before, or at the first blank line before it, so a Windows file's
/// errors named the wrong lines.)
pub(super) struct LineCounter<R> {
    inner: R,
    read: u64,
    /// The line being read, and whether its first character is still to come.
    line: u64,
    at_line_start: bool,
    /// The last byte read was a `\r`: a line end, unless a `\n` follows
    /// (the csv crate ends lines at `\r`, `\n` and `\r\n`).
    after_cr: bool,
    /// (offset, line) of the first character of each line that has one
    /// (blank lines have none), not yet passed by a query.
    line_starts: VecDeque<(u64, u64)>,
}

impl<R> LineCounter<R> {
    fn new(inner: R) -> LineCounter<R> {
        LineCounter { inner, read: 0, line: 1, at_line_start: true, after_cr: false, line_starts: VecDeque::new() }
    }

    /// The line of the record the reader says starts at `byte`: the first
    /// line with a character at or after it (between the two lie only line
    /// ends). Queries come in file order.
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.line_starts.front().is_some_and(|&(at, _)| at < byte) {
            self.line_starts.pop_front();
        }
        self.line_starts.front().map_or(self.line, |&(_, line)| line)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &byte) in buf[..n].iter().enumerate() {
            if std::mem::take(&mut self.after_cr) && byte != b'\n' {
                self.line += 1;
                self.at_line_start = true;
            }
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.at_line_start = true;
                }
                b'\r' => self.after_cr = true,
                _ if self.at_line_start => {
                    self.line_starts.push_back((self.read + i as u64, self.line));
                    self.at_line_start = false;
                }
                _ => {}
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Where the rows of a file come from.
pub(super) enum Records<R: Read> {
    /// `skipped`: the `#` lines (and their bytes) before the header, which
    /// the reader never saw; its line numbers are shifted back by them.
    Csv { reader: csv::Reader<LineCounter<BufReader<R>>>, skipped_lines: u64, skipped_bytes: u64 },
    /// A sheet's rows below its header, read whole (cells past
    /// [`MAX_SHEET_COLUMNS`] dropped); `next` indexes `rows`.
    Sheet { rows: Vec<Vec<Data>>, next: usize, first_row: u64 },
}

impl<R: Read + Seek> Records<R> {
    /// Opens `input` and positions it after its header row, which it
    /// answers with. `is_header` tells a header row from a title or a blank
    /// above it (only sheets have those).
    pub fn open(input: R, is_header: impl Fn(&[Field]) -> bool) -> Result<(Records<R>, Record), LineError> {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let start = input.fill_buf().map_err(|e| unreadable(1, &e))?;
        if is_xlsx(start) {
            return open_sheet(input, is_header);
        }
        let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
        let delimiter = delimiter_of(first_line(start));
        let mut skipped_bytes = 0;
        if input.buffer().starts_with(b"\xEF\xBB\xBF") {
            input.consume(3);
            skipped_bytes += 3;
        }
        // Only `#` lines before the header are comments (Tokenboard's own
        // export may start with one): a data row starting with `#` is data.
        let mut skipped_lines = 0;
        while input.fill_buf().map_err(|e| unreadable(skipped_lines + 1, &e))?.starts_with(b"#") {
            let mut line = Vec::new();
            skipped_bytes += input.read_until(b'\n', &mut line).map_err(|e| unreadable(skipped_lines + 1, &e))? as u64;
            skipped_lines += 1;
        }
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .delimiter(delimiter)
            .from_reader(LineCounter::new(input));
        let mut records = Records::Csv { reader, skipped_lines, skipped_bytes };
        match records.next_record() {
            None => Err(LineError { line: 1, message: "the file is empty: expected a header row".into() }),
            Some(Err(e)) => Err(LineError { line: e.line, message: format!("unreadable header: {}", e.message) }),
            Some(Ok(header)) => Ok((records, header)),
        }
    }
}

impl<R: Read> Records<R> {
    pub fn bytes_read(&self) -> Option<u64> {
        match self {
            Records::Csv { reader, skipped_bytes, .. } => Some(reader.position().byte() + *skipped_bytes),
            Records::Sheet { .. } => None,
        }
    }

    /// The next row; `Err` for a row the CSV reader cannot read, after which
    /// the rest of the file is unreliable.
    pub fn next_record(&mut self) -> Option<Result<Record, LineError>> {
        match self {
            Records::Csv { reader, skipped_lines, .. } => {
                let mut record = csv::ByteRecord::new();
                match reader.read_byte_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let byte = record.position().map_or(0, |p| p.byte());
                        let line = reader.get_mut().line_at(byte) + *skipped_lines;
                        let fields = record
                            .iter()
                            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_owned()).map_err(|_| ()))
                            .collect();
                        Some(Ok(Record { line, fields }))
                    }
                    Err(e) => {
                        let mut error = csv_error(&e);
                        if let Some(position) = e.position() {
                            error.line = reader.get_mut().line_at(position.byte());
                        }
                        error.line += *skipped_lines;
                        Some(Err(error))
                    }
                }
            }
            Records::Sheet { rows, next, first_row, .. } => {
                let row = rows.get(*next)?;
                let line = *first_row + *next as u64;
                *next += 1;
                Some(Ok(Record { line, fields: sheet_fields(row) }))
            }
        }
    }
}

fn csv_error(e: &csv::Error) -> LineError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Io(e) => format!("the file could not be read: {e}"),
        other => format!("unreadable CSV: {other:?}"),
    };
    LineError { line, message }
}

fn unreadable(line: u64, e: &std::io::Error) -> LineError {
    LineError { line, message: format!("the file could not be read: {e}") }
}

/// The first line that is not a `#` comment (as far as the buffer holds it).
fn first_line(start: &[u8]) -> &[u8] {
    start.split(|&b| b == b'\n').find(|line| !line.starts_with(b"#")).unwrap_or(start)
}

/// `;` when the header line has more semicolons than commas outside quotes
/// (the vendor's European files), else `,`.
fn delimiter_of(header_line: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for &b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// A cell as the text a CSV would hold: dates as `YYYY-MM-DD`, whole numbers
/// without a fraction.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(at) => match at.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().to_string(),
            Some(at) => at.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => at.as_f64().to_string(),
        },
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Columns of a sheet that are read: a usage file has about ten.
const MAX_SHEET_COLUMNS: u32 = 100;
/// Rows a sheet may have: beyond, the file is refused rather than held.
const MAX_SHEET_ROWS: u32 = 2_000_000;

/// A sheet's cells as rows (from its first used row), streamed cell by cell
/// so a sheet that names a far-away cell costs its cells, not its area.
fn sheet_rows<R: Read + Seek>(workbook: &mut Xlsx<R>, name: &str) -> Result<(Vec<Vec<Data>>, u64), String> {
    let mut cells = workbook.worksheet_cells_reader(name).map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<Data>> = Vec::new();
    let mut first: Option<u32> = None;
    while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
        let (row, col) = cell.get_position();
        if col >= MAX_SHEET_COLUMNS {
            continue;
        }
        if row >= MAX_SHEET_ROWS {
            return Err(format!("sheet {name:?} has more than {MAX_SHEET_ROWS} rows"));
        }
        let first = *first.get_or_insert(row);
        let Some(index) = row.checked_sub(first) else { continue };
        let index = index as usize;
        if rows.len() <= index {
            rows.resize_with(index + 1, Vec::new);
        }
        let cells_of_row = &mut rows[index];
        if cells_of_row.len() <= col as usize {
            cells_of_row.resize(col as usize + 1, Data::Empty);
        }
        cells_of_row[col as usize] = Data::from(cell.get_value().clone());
    }
    Ok((rows, u64::from(first.unwrap_or(0)) + 1))
}

/// A sheet row's cells as the fields of a record.
fn sheet_fields(row: &[Data]) -> Vec<Field> {
    row.iter().map(|cell| Ok(cell_text(cell))).collect()
}

fn open_sheet<R: Read + Seek>(
    input: BufReader<R>,
    is_header: impl Fn(&[Field]) -> bool,
) -> Result<(Records<R>, Record), LineError> {
    let not_xlsx = |e: String| LineError { line: 1, message: format!("not a readable .xlsx file: {e}") };
    let mut workbook: Xlsx<_> =
        open_workbook_from_rs(input.into_inner()).map_err(|e: calamine::XlsxError| not_xlsx(e.to_string()))?;
    for name in workbook.sheet_names() {
        let (rows, first_row) = sheet_rows(&mut workbook, &name).map_err(not_xlsx)?;
        let header_at = rows.iter().take(HEADER_SEARCH_ROWS).position(|row| is_header(&sheet_fields(row)));
        if let Some(index) = header_at {
            let header = Record { line: first_row + index as u64, fields: sheet_fields(&rows[index]) };
            let records = Records::Sheet { rows, next: index + 1, first_row };
            return Ok((records, header));
        }
    }
    Err(LineError {
        line: 1,
        message: format!(
            "no sheet has a header row (e-mail, product, usage date, tokens) within its first {HEADER_SEARCH_ROWS} rows"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_follows_the_header_line() {
        assert_eq!(delimiter_of(b"Email;Product;Day used;Tokens"), b';');
        assert_eq!(delimiter_of(b"Email,Product,Day used,Tokens"), b',');
        assert_eq!(delimiter_of(b"\"a;b;c\",Product,Day,Tokens"), b',', "quoted semicolons do not count");
        assert_eq!(first_line(b"# exported\nEmail;Tokens\n"), b"Email;Tokens");
    }

    fn lines_of(file: &str) -> Vec<u64> {
        let (mut records, header) = Records::open(std::io::Cursor::new(file.as_bytes()), |_| true).unwrap();
        let mut lines = vec![header.line];
        while let Some(record) = records.next_record() {
            lines.push(record.map_or_else(|e| e.line, |r| r.line));
        }
        lines
    }

    /// Found by the import's property test: the csv crate names the line
    /// before for every record after a `\r\n`.
    #[test]
    fn records_keep_their_lines_whatever_ends_them() {
        assert_eq!(lines_of("Email,Tokens\na,1\nb,2\n"), [1, 2, 3]);
        assert_eq!(lines_of("Email,Tokens\r\na,1\r\nb,2\r\n"), [1, 2, 3]);
        assert_eq!(lines_of("Email,Tokens\r\n\r\na,1\r\n\"multi\r\nline\",2\r\nc,3\r\n"), [1, 3, 4, 6]);
        assert_eq!(lines_of("# about\r\nEmail,Tokens\r\na,1\r\nb\r\n"), [2, 3, 4], "the short row's error too");
        assert_eq!(lines_of("Email,Tokens\ra,1\r\rb,2\r"), [1, 2, 4], "old Mac line ends");
    }
}
