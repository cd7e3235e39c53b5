//! The service's dialling sort: a spec (`balance desc, last_name asc`, or
//! upload order), the reference comparison of two records under it, and the
//! byte key that lets the queue keep that order in one SQLite BLOB column
//! (SQLite compares BLOBs with memcmp).
//!
//! Per field, values fall in three classes, in this order whatever the
//! direction: numbers (text that parses as a finite f64 after trimming,
//! compared numerically, so `9.5` < `10` and `10` = `1e1`), then other text
//! (compared by UTF-8 bytes), then missing values (absent or empty). `desc`
//! reverses the order within numbers and within text; it moves neither class.
//! Keeping missing values last in both directions is what people expect of
//! "balance desc"; keeping numbers first means stray text like `N/A` in a
//! numeric column does not jump ahead of the real values.
//!
//! Key layout per field: a class tag byte, never inverted, then the value:
//! - number: the f64 bits made order-preserving (sign bit flipped for
//!   positives, all bits flipped for negatives, -0.0 taken as 0.0);
//! - text: the bytes with 0x00 escaped as 0x00 0xFF, then 0x00 0x00, so the
//!   encoding is prefix-free and a prefix sorts first;
//! - missing: nothing.
//!
//! For `desc` the value bytes (terminator included) are inverted; inverting
//! a prefix-free encoding reverses its order. The key ends with the upload
//! sequence as 8 big-endian bytes, the final tie-break, which also makes keys
//! unique per sequence.

use std::cmp::Ordering;

use super::record::NewRecord;

/// Most fields one sort may name.
pub const MAX_SORT_FIELDS: usize = 8;

const TAG_NUMBER: u8 = 0x01;
const TAG_TEXT: u8 = 0x02;
const TAG_MISSING: u8 = 0x03;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortSpec {
    UploadOrder,
    /// Lowercase field names (as [`NewRecord::field`] takes them), each at
    /// most once.
    Fields(Vec<(String, Direction)>),
}

impl std::str::FromStr for SortSpec {
    type Err = String;

    /// `""`, `upload` or `upload_order` is upload order; otherwise a comma
    /// separated list of `field [asc|desc]`, `asc` by default. Field names
    /// and keywords are case-insensitive.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || is_upload(s) {
            return Ok(SortSpec::UploadOrder);
        }
        let mut fields: Vec<(String, Direction)> = Vec::new();
        for (i, part) in s.split(',').enumerate() {
            let mut words = part.split_whitespace();
            let Some(name) = words.next() else {
                return Err(format!("sort field {} is empty (stray comma?)", i + 1));
            };
            let dir = match words.next() {
                None => Direction::Asc,
                Some(d) if d.eq_ignore_ascii_case("asc") => Direction::Asc,
                Some(d) if d.eq_ignore_ascii_case("desc") => Direction::Desc,
                Some(d) => return Err(format!("sort field {name:?}: expected asc or desc, not {d:?}")),
            };
            if let Some(extra) = words.next() {
                return Err(format!("sort field {name:?}: unexpected {extra:?} (fields are separated by commas)"));
            }
            if is_upload(name) {
                return Err("upload order is always the final tie-break; it cannot be one of the fields".into());
            }
            let valid = name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("sort field {name:?}: names are 1 to 64 characters of A-Z, a-z, 0-9 and _"));
            }
            let name = name.to_ascii_lowercase();
            if fields.iter().any(|(f, _)| *f == name) {
                return Err(format!("sort field {name:?} appears twice"));
            }
            fields.push((name, dir));
        }
        if fields.len() > MAX_SORT_FIELDS {
            return Err(format!("at most {MAX_SORT_FIELDS} sort fields, not {}", fields.len()));
        }
        Ok(SortSpec::Fields(fields))
    }
}

fn is_upload(s: &str) -> bool {
    s.eq_ignore_ascii_case("upload") || s.eq_ignore_ascii_case("upload_order")
}

impl std::fmt::Display for SortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SortSpec::UploadOrder => f.write_str("upload"),
            SortSpec::Fields(fields) => {
                for (i, (name, dir)) in fields.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let dir = match dir {
                        Direction::Asc => "asc",
                        Direction::Desc => "desc",
                    };
                    write!(f, "{sep}{name} {dir}")?;
                }
                Ok(())
            }
        }
    }
}

/// One field's value as the sort sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value<'a> {
    Number(f64),
    Text(&'a str),
    Missing,
}

fn classify(v: Option<&str>) -> Value<'_> {
    match v {
        None | Some("") => Value::Missing,
        Some(s) => match s.trim().parse::<f64>() {
            // 0.0 + -0.0 is 0.0: one encoding for both zeros.
            Ok(n) if n.is_finite() => Value::Number(n + 0.0),
            _ => Value::Text(s),
        },
    }
}

/// Class order first, then value order within the class; `Desc` flips only
/// the latter.
fn compare_values(a: Value, b: Value, dir: Direction) -> Ordering {
    let within = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(&y).expect("finite numbers"),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Missing, Value::Missing) => Ordering::Equal,
        _ => return class(a).cmp(&class(b)),
    };
    match dir {
        Direction::Asc => within,
        Direction::Desc => within.reverse(),
    }
}

fn class(v: Value) -> u8 {
    match v {
        Value::Number(_) => TAG_NUMBER,
        Value::Text(_) => TAG_TEXT,
        Value::Missing => TAG_MISSING,
    }
}

/// The reference order of two records under `spec`; [`key`] must agree with
/// it byte for byte.
pub fn compare(spec: &SortSpec, a: &NewRecord, a_seq: u64, b: &NewRecord, b_seq: u64) -> Ordering {
    if let SortSpec::Fields(fields) = spec {
        for (name, dir) in fields {
            let o = compare_values(classify(a.field(name)), classify(b.field(name)), *dir);
            if o.is_ne() {
                return o;
            }
        }
    }
    a_seq.cmp(&b_seq)
}

/// The order-preserving key: `memcmp(key(a), key(b))` is `compare(a, b)`.
pub fn key(spec: &SortSpec, rec: &NewRecord, upload_seq: u64) -> Vec<u8> {
    let mut out = Vec::new();
    if let SortSpec::Fields(fields) = spec {
        for (name, dir) in fields {
            let v = classify(rec.field(name));
            out.push(class(v));
            let start = out.len();
            match v {
                Value::Number(n) => {
                    let bits = n.to_bits();
                    let bits = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
                    out.extend_from_slice(&bits.to_be_bytes());
                }
                Value::Text(s) => {
                    for &b in s.as_bytes() {
                        out.push(b);
                        if b == 0 {
                            out.push(0xFF);
                        }
                    }
                    out.extend_from_slice(&[0, 0]);
                }
                Value::Missing => {}
            }
            if *dir == Direction::Desc {
                out[start..].iter_mut().for_each(|b| *b = !*b);
            }
        }
    }
    out.extend_from_slice(&upload_seq.to_be_bytes());
    out
}

#[cfg(test)]
mod tests;
