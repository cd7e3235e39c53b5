//! CSV uploads, streamed: bytes go in as they arrive, in chunks split
//! anywhere (inside a quoted field, a CRLF or a UTF-8 sequence), and records
//! come out row by row, so a million-row upload is never in memory whole.
//!
//! The dialect is RFC 4180 as spreadsheets write it: `,` between fields,
//! `"` quotes with `""` for a quote inside, CRLF or LF line ends, a UTF-8
//! BOM at the start ignored, blank lines skipped. The first row is the
//! header (see [`Columns`] for the names). Memory is bounded by the header:
//! at most [`MAX_COLUMNS`] cells of at most [`MAX_FIELD`] bytes each are held;
//! longer fields are cut short and their row reported bad, and cells past the
//! header's width are counted, not kept.

use super::record::{Columns, NewRecord};

/// Most columns a header may have.
pub const MAX_COLUMNS: usize = 100;
/// Longest field, in bytes, before its row is refused.
pub const MAX_FIELD: usize = 4096;

const BOM: &[u8] = b"\xef\xbb\xbf";
const HEAD: usize = BOM.len() + 1;

/// A problem with the header: the upload cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("CSV header: {0}")]
    Header(String),
}

/// A data row that cannot be loaded; the rows around it still can.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("row {row}: {field}: {message}")]
pub struct RowError {
    /// 1-based among data rows (header and blank lines not counted).
    pub row: u64,
    /// The column, or `row` for the row as a whole.
    pub field: String,
    pub message: String,
}

/// What the output of [`CsvRecords::feed`] holds, in input order.
pub type Rows = Vec<Result<(u64, NewRecord), RowError>>;

/// The first problem met in the row being read, reported when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    TooLong(usize),
    NotUtf8(usize),
}

pub struct CsvRecords {
    rdr: csv_core::Reader,
    /// The first bytes, held until there are `HEAD` of them: csv-core only
    /// recognises a BOM that arrives whole in its first call, and takes a
    /// call with nothing after the BOM for the end of the input.
    head: Vec<u8>,
    started: bool,
    scratch: Box<[u8; 1024]>,
    /// The field being read, up to `MAX_FIELD` bytes.
    field: Vec<u8>,
    field_too_long: bool,
    /// The row being read: cells up to the header's width (the header row
    /// itself: up to `MAX_COLUMNS`), reused from row to row.
    cells: Vec<String>,
    /// Fields in the row being read, kept or not.
    width: usize,
    flaw: Option<Flaw>,
    columns: Option<Columns>,
    rows: u64,
    failed: Option<CsvError>,
}

impl Default for CsvRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvRecords {
    pub fn new() -> Self {
        CsvRecords {
            rdr: csv_core::Reader::new(),
            head: Vec::with_capacity(HEAD),
            started: false,
            scratch: Box::new([0; 1024]),
            field: Vec::new(),
            field_too_long: false,
            cells: Vec::new(),
            width: 0,
            flaw: None,
            columns: None,
            rows: 0,
            failed: None,
        }
    }

    /// Feeds the next chunk; completed rows are pushed to `out`. An empty
    /// chunk is no input, not the end (that is [`CsvRecords::finish`]).
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Rows) -> Result<(), CsvError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.started {
            let take = chunk.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.head.len() < HEAD {
                return Ok(());
            }
            self.started = true;
            let head = std::mem::take(&mut self.head);
            self.parse(&head, out)?;
        }
        if chunk.is_empty() { Ok(()) } else { self.parse(chunk, out) }
    }

    /// End of input: completes a last row without a line end, and fails if
    /// there never was a header.
    pub fn finish(&mut self, out: &mut Rows) -> Result<(), CsvError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.started {
            self.started = true;
            let head = std::mem::take(&mut self.head);
            if !head.is_empty() && head != BOM {
                self.parse(&head, out)?;
            }
        }
        // An empty input is csv-core's end-of-data signal.
        self.parse(&[], out)?;
        if self.columns.is_none() {
            return Err(self.fail("no header row".into()));
        }
        Ok(())
    }

    /// Data rows completed so far, good or bad.
    pub fn rows_seen(&self) -> u64 {
        self.rows
    }

    fn fail(&mut self, message: String) -> CsvError {
        let e = CsvError::Header(message);
        self.failed = Some(e.clone());
        e
    }

    /// Parses `input`, or signals the end of the input if it is empty.
    fn parse(&mut self, mut input: &[u8], out: &mut Rows) -> Result<(), CsvError> {
        let at_end = input.is_empty();
        loop {
            let (res, nin, nout) = self.rdr.read_field(input, &mut self.scratch[..]);
            input = &input[nin..];
            if self.field.len() + nout <= MAX_FIELD {
                self.field.extend_from_slice(&self.scratch[..nout]);
            } else {
                self.field_too_long = true;
            }
            match res {
                // csv-core takes all the input it is given before asking
                // for more.
                csv_core::ReadFieldResult::InputEmpty => return Ok(()),
                csv_core::ReadFieldResult::OutputFull => {}
                csv_core::ReadFieldResult::Field { record_end } => {
                    self.end_field()?;
                    if record_end {
                        self.end_record(out)?;
                    }
                    // Calling again with nothing would say "end of input".
                    if input.is_empty() && !at_end {
                        return Ok(());
                    }
                }
                csv_core::ReadFieldResult::End => return Ok(()),
            }
        }
    }

    fn end_field(&mut self) -> Result<(), CsvError> {
        let col = self.width;
        self.width += 1;
        let keep = match &self.columns {
            Some(c) => c.len(),
            None if col >= MAX_COLUMNS => {
                return Err(self.fail(format!("more than {MAX_COLUMNS} columns")));
            }
            None => MAX_COLUMNS,
        };
        if col < keep {
            if self.cells.len() <= col {
                self.cells.push(String::new());
            }
            let cell = &mut self.cells[col];
            cell.clear();
            match std::str::from_utf8(&self.field) {
                // The kept part may end mid-sequence; too long is the news.
                _ if self.field_too_long => {
                    self.flaw.get_or_insert(Flaw::TooLong(col));
                }
                Ok(s) => cell.push_str(s),
                Err(_) => {
                    self.flaw.get_or_insert(Flaw::NotUtf8(col));
                }
            }
        }
        self.field.clear();
        self.field_too_long = false;
        Ok(())
    }

    fn end_record(&mut self, out: &mut Rows) -> Result<(), CsvError> {
        let width = std::mem::take(&mut self.width);
        let flaw = self.flaw.take();
        let cells = &self.cells[..width.min(self.cells.len())];
        // csv-core skips empty lines; a line of spaces, or a lone `""`, is
        // just as blank to the person who wrote it.
        if width == 1 && flaw.is_none() && cells[0].trim().is_empty() {
            return Ok(());
        }
        let Some(columns) = &self.columns else {
            let message = match flaw {
                Some(Flaw::TooLong(c)) => format!("column {} is longer than {MAX_FIELD} bytes", c + 1),
                Some(Flaw::NotUtf8(c)) => format!("column {} is not valid UTF-8", c + 1),
                None => match Columns::parse(cells) {
                    Ok(c) => {
                        self.cells.truncate(c.len());
                        self.columns = Some(c);
                        return Ok(());
                    }
                    Err(m) => m,
                },
            };
            return Err(self.fail(message));
        };
        self.rows += 1;
        let row = self.rows;
        let bad = |field: &str, message: String| RowError { row, field: field.to_string(), message };
        let result = if width != columns.len() {
            Err(bad("row", format!("has {width} fields; the header has {}", columns.len())))
        } else {
            match flaw {
                Some(Flaw::TooLong(c)) => Err(bad(columns.name(c), format!("longer than {MAX_FIELD} bytes"))),
                Some(Flaw::NotUtf8(c)) => Err(bad(columns.name(c), "not valid UTF-8".into())),
                None => columns.record(cells).map(|r| (row, r)).map_err(|e| RowError {
                    row,
                    field: e.field,
                    message: e.message,
                }),
            }
        };
        out.push(result);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
