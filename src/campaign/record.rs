//! One campaign record as loaded, before it is queued: the phone numbers to
//! dial and the customer's data, validated and normalised from a JSON object
//! or a CSV row.
//!
//! Field names are case-insensitive and kept lowercase, so a CSV header
//! `Balance`, a JSON key `balance` and a sort spec `BALANCE desc` all name
//! the same field. Empty values are absent: a CSV has no other way to say
//! "no value", and the sort treats the two alike anyway.

use std::collections::BTreeMap;

/// Most numbers a record may carry besides `phone1`.
pub const MAX_PHONE2: usize = 30;
/// Longest custom field name, in characters.
pub const MAX_NAME: usize = 64;
/// Longest value, in characters.
pub const MAX_VALUE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewRecord {
    /// Normalised (see [`normalize_phone`]).
    pub phone1: String,
    /// Normalised, at most [`MAX_PHONE2`], dialled after `phone1` in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone2: Vec<String>,
    pub account: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// As given: an IANA name is expected, checked where zones are known.
    pub time_zone: Option<String>,
    /// Every other field, by lowercase name, as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// A record that cannot be loaded: `field` is the JSON key or CSV column
/// (e.g. `phone2[3]`, `phone_4`), `message` what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RecordError {
    pub field: String,
    pub message: String,
}

impl RecordError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        RecordError { field: field.into(), message: message.into() }
    }
}

/// Normalises a phone number as written by people and spreadsheets:
/// separators (space, `-`, `.`, `(`, `)`) are dropped, a `tel:` prefix and a
/// leading `+` are accepted, and 2 to 20 digits must remain. The `+` is kept
/// because it is the difference between an international and a national
/// number; whether the trunk wants it is the dial plan's business.
pub fn normalize_phone(s: &str) -> Result<String, String> {
    let mut rest = s.trim();
    if rest.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tel:")) {
        rest = &rest[4..];
    }
    let mut out = String::with_capacity(rest.len());
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            ' ' | '-' | '.' | '(' | ')' => {}
            '+' if out.is_empty() => out.push('+'),
            '+' => return Err("'+' is only allowed at the start of a phone number".into()),
            '0'..='9' => {
                out.push(c);
                digits += 1;
            }
            _ => return Err(format!("{c:?} is not allowed in a phone number")),
        }
    }
    match digits {
        0 if s.trim().is_empty() => Err("phone number is empty".into()),
        2..=20 => Ok(out),
        n => Err(format!("a phone number has 2 to 20 digits, not {n}")),
    }
}

/// Custom field names become map keys and sort spec names, hence
/// the conservative alphabet.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok { Ok(()) } else { Err(format!("field names are 1 to {MAX_NAME} characters of A-Z, a-z, 0-9 and _")) }
}

fn check_value(v: &str) -> Result<(), String> {
    if v.chars().count() > MAX_VALUE { Err(format!("longer than {MAX_VALUE} characters")) } else { Ok(()) }
}

/// The fields a record has besides custom ones. `Phones` is phone2 and its
/// numbered CSV siblings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    Phone1,
    Phones,
    Account,
    FirstName,
    LastName,
    Email,
    TimeZone,
}

fn known(name: &str) -> Option<Known> {
    Some(match name {
        "phone1" => Known::Phone1,
        "phone2" => Known::Phones,
        "account" => Known::Account,
        "first_name" => Known::FirstName,
        "last_name" => Known::LastName,
        "email" => Known::Email,
        "time_zone" => Known::TimeZone,
        _ => return None,
    })
}

impl NewRecord {
    fn empty() -> Self {
        NewRecord {
            phone1: String::new(),
            phone2: Vec::new(),
            account: None,
            first_name: None,
            last_name: None,
            email: None,
            time_zone: None,
            fields: BTreeMap::new(),
        }
    }

    fn text_slot(&mut self, k: &Known) -> Option<&mut Option<String>> {
        match k {
            Known::Account => Some(&mut self.account),
            Known::FirstName => Some(&mut self.first_name),
            Known::LastName => Some(&mut self.last_name),
            Known::Email => Some(&mut self.email),
            Known::TimeZone => Some(&mut self.time_zone),
            Known::Phone1 | Known::Phones => None,
        }
    }

    /// From one JSON object (an element of `records`). Keys are matched
    /// case-insensitively; keys other than the known ones are custom fields.
    pub fn from_json(v: &serde_json::Value) -> Result<NewRecord, RecordError> {
        let obj = v.as_object().ok_or_else(|| RecordError::new("record", "must be a JSON object"))?;
        let mut rec = NewRecord::empty();
        let mut have_phone1 = false;
        let mut names = std::collections::BTreeSet::new();
        for (key, value) in obj {
            let name = key.to_ascii_lowercase();
            if !names.insert(name.clone()) {
                return Err(RecordError::new(key, "duplicate field (names are case-insensitive)"));
            }
            match known(&name) {
                Some(Known::Phone1) => {
                    if value.is_null() {
                        continue;
                    }
                    rec.phone1 = json_phone(value).map_err(|m| RecordError::new(key, m))?;
                    have_phone1 = true;
                }
                Some(Known::Phones) => rec.phone2 = json_phones(key, value)?,
                Some(k) => {
                    let text = match value {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => {
                            check_value(s).map_err(|m| RecordError::new(key, m))?;
                            Some(s.clone()).filter(|s| !s.is_empty())
                        }
                        _ => return Err(RecordError::new(key, "must be a string")),
                    };
                    *rec.text_slot(&k).expect("text field") = text;
                }
                None => {
                    check_name(&name).map_err(|m| RecordError::new(key, m))?;
                    let text = match value {
                        serde_json::Value::Null => continue,
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => return Err(RecordError::new(key, "must be a string, number or boolean")),
                    };
                    check_value(&text).map_err(|m| RecordError::new(key, m))?;
                    if !text.is_empty() {
                        rec.fields.insert(name, text);
                    }
                }
            }
        }
        if !have_phone1 {
            return Err(RecordError::new("phone1", "is required"));
        }
        Ok(rec)
    }

    /// From a CSV row given its header; see [`Columns`] for how columns are
    /// named. A caller with many rows should parse the header once with
    /// [`Columns::parse`] instead.
    pub fn from_csv(header: &[String], row: &[String]) -> Result<NewRecord, RecordError> {
        Columns::parse(header).map_err(|m| RecordError::new("header", m))?.record(row)
    }

    /// `phone1`, then `phone2` in order: the order they are dialled in.
    pub fn phones(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.phone1.as_str()).chain(self.phone2.iter().map(String::as_str))
    }

    /// A field by (lowercase) name, for sorting: a known text field,
    /// `phone1`, or a custom field.
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "phone1" => Some(&self.phone1),
            "account" => self.account.as_deref(),
            "first_name" => self.first_name.as_deref(),
            "last_name" => self.last_name.as_deref(),
            "email" => self.email.as_deref(),
            "time_zone" => self.time_zone.as_deref(),
            _ => self.fields.get(name).map(String::as_str),
        }
    }
}

/// JSON numbers are accepted because spreadsheet-to-JSON tools emit them for
/// digit-only cells; only whole ones, since `4.4e11` printed back is not the
/// number anyone meant.
fn json_phone(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => normalize_phone(s),
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(n) => normalize_phone(&n.to_string()),
            None => Err("a phone number given as a JSON number must be a whole number".into()),
        },
        _ => Err("must be a string or a number".into()),
    }
}

fn json_phones(key: &str, v: &serde_json::Value) -> Result<Vec<String>, RecordError> {
    let items = match v {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(items) => items,
        _ => return Err(RecordError::new(key, "must be an array")),
    };
    if items.len() > MAX_PHONE2 {
        return Err(RecordError::new(key, format!("at most {MAX_PHONE2} numbers")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, p)| json_phone(p).map_err(|m| RecordError::new(format!("{key}[{i}]"), m)))
        .collect()
}

/// What one CSV column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// A column with an empty name (spreadsheets export trailing ones).
    Ignored,
    Known(Known),
    Custom(String),
}

/// A parsed CSV header: what each column holds. Names are trimmed,
/// lowercased and have spaces turned into `_` (`First Name` is
/// `first_name`). `phone` and `phone_1` mean `phone1`; `phone2` and the
/// numbered `phone3`..`phone31` (or `phone_2`..`phone_31`) each hold numbers
/// separated by `,` or `;`, appended to `phone2` in column order.
#[derive(Debug, Clone)]
pub struct Columns {
    names: Vec<String>,
    cols: Vec<Column>,
}

impl Columns {
    pub fn parse(header: &[String]) -> Result<Columns, String> {
        let mut names = Vec::with_capacity(header.len());
        let mut cols = Vec::with_capacity(header.len());
        // Aliases resolve to one canonical name so `phone` next to `phone1`
        // is caught as a duplicate.
        let mut canonical = std::collections::BTreeSet::new();
        for (i, raw) in header.iter().enumerate() {
            let name: String =
                raw.trim().chars().map(|c| if c == ' ' { '_' } else { c.to_ascii_lowercase() }).collect();
            let (col, canon) = if name.is_empty() {
                (Column::Ignored, None)
            } else if let Some(k) = known(&name) {
                (Column::Known(k), Some(name.clone()))
            } else if name == "phone" || name == "phone_1" {
                (Column::Known(Known::Phone1), Some("phone1".to_string()))
            } else if let Some(n) = numbered_phone(&name) {
                (Column::Known(Known::Phones), Some(format!("phone{n}")))
            } else {
                check_name(&name).map_err(|m| format!("column {} ({raw:?}): {m}", i + 1))?;
                (Column::Custom(name.clone()), Some(name.clone()))
            };
            if let Some(c) = canon
                && !canonical.insert(c.clone())
            {
                return Err(format!("column {} ({raw:?}): duplicate column {c}", i + 1));
            }
            names.push(name);
            cols.push(col);
        }
        if !cols.contains(&Column::Known(Known::Phone1)) {
            return Err("no phone1 column (phone1, phone or phone_1)".into());
        }
        Ok(Columns { names, cols })
    }

    /// Number of columns, i.e. of fields every row must have.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// The normalised name of column `i` (0-based), as errors report it.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// One row. Cells are trimmed; an empty cell is an absent value.
    pub fn record(&self, row: &[String]) -> Result<NewRecord, RecordError> {
        if row.len() != self.cols.len() {
            return Err(RecordError::new(
                "row",
                format!("has {} fields; the header has {}", row.len(), self.cols.len()),
            ));
        }
        let mut rec = NewRecord::empty();
        let mut have_phone1 = false;
        for ((col, name), cell) in self.cols.iter().zip(&self.names).zip(row) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let err = |m: String| RecordError::new(name, m);
            match col {
                Column::Ignored => {}
                Column::Known(Known::Phone1) => {
                    rec.phone1 = normalize_phone(cell).map_err(err)?;
                    have_phone1 = true;
                }
                Column::Known(Known::Phones) => {
                    for p in cell.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                        if rec.phone2.len() == MAX_PHONE2 {
                            return Err(err(format!("more than {MAX_PHONE2} numbers besides phone1")));
                        }
                        rec.phone2.push(normalize_phone(p).map_err(err)?);
                    }
                }
                Column::Known(k) => {
                    check_value(cell).map_err(err)?;
                    *rec.text_slot(k).expect("text field") = Some(cell.to_string());
                }
                Column::Custom(c) => {
                    check_value(cell).map_err(err)?;
                    rec.fields.insert(c.clone(), cell.to_string());
                }
            }
        }
        if !have_phone1 {
            let name = self.cols.iter().position(|c| *c == Column::Known(Known::Phone1)).map(|i| self.name(i));
            return Err(RecordError::new(name.unwrap_or("phone1"), "is required"));
        }
        Ok(rec)
    }
}

/// `phone3`..`phone31` or `phone_2`..`phone_31` (`phone2` itself is known).
fn numbered_phone(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("phone")?;
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| (2..=31).contains(n))
}

#[cfg(test)]
mod tests;
