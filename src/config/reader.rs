//! A key-tracking reader over the merged configuration tree.
//!
//! Serde stops at the first bad field; operators want every problem at once,
//! each named by its key. So the file and the environment are merged into a
//! plain JSON tree and read key by key here: every read records the key as
//! known, every failure becomes a [`Problem`], and whatever was never read is
//! reported as an unknown key (usually a typo).

use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One thing wrong with the configuration, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Reads typed values out of one table, remembering which keys it consumed.
pub struct Reader<'t, 'p> {
    table: Option<&'t Map<String, Value>>,
    prefix: String,
    pub(crate) problems: &'p mut Vec<Problem>,
    seen: HashSet<String>,
}

impl<'t, 'p> Reader<'t, 'p> {
    pub fn new(
        table: Option<&'t Map<String, Value>>,
        prefix: impl Into<String>,
        problems: &'p mut Vec<Problem>,
    ) -> Self {
        Self { table, prefix: prefix.into(), problems, seen: HashSet::new() }
    }

    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) }
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        let key = self.key(name);
        self.problems.push(Problem { key, message: message.into() });
    }

    pub fn raw(&mut self, name: &str) -> Option<&'t Value> {
        self.seen.insert(name.to_string());
        self.table.and_then(|t| t.get(name)).filter(|v| !v.is_null())
    }

    /// A string; numbers and booleans are accepted as text because
    /// environment overrides arrive untyped.
    pub fn opt_string(&mut self, name: &str) -> Option<String> {
        match self.raw(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.problem(name, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    pub fn string(&mut self, name: &str, default: &str) -> String {
        self.opt_string(name).unwrap_or_else(|| default.to_string())
    }

    pub fn required_string(&mut self, name: &str) -> Option<String> {
        let v = self.opt_string(name);
        match &v {
            None => self.problem(name, "is required"),
            Some(s) if s.trim().is_empty() => {
                self.problem(name, "must not be empty");
                return None;
            }
            _ => {}
        }
        v
    }

    pub fn socket_addr(&mut self, name: &str, default: Option<&str>) -> Option<SocketAddr> {
        let text = match (self.opt_string(name), default) {
            (Some(t), _) => t,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                self.problem(name, "is required (an IP address and port, e.g. 127.0.0.1:5060)");
                return None;
            }
        };
        match text.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.problem(
                    name,
                    format!("{text:?} is not an IP address and port (e.g. 127.0.0.1:5060 or [::1]:5060)"),
                );
                None
            }
        }
    }

    /// An optional IP address others can reach us at (never a wildcard).
    pub fn ip(&mut self, name: &str) -> Option<std::net::IpAddr> {
        let text = self.opt_string(name)?;
        match text.parse::<std::net::IpAddr>() {
            Ok(ip) if !ip.is_unspecified() => Some(ip),
            _ => {
                self.problem(name, format!("{text:?} is not a usable IP address (e.g. 203.0.113.7 or 2001:db8::7)"));
                None
            }
        }
    }

    pub fn number(&mut self, name: &str, default: f64, min: f64, max: f64) -> f64 {
        let v = match self.raw(name) {
            None => return default,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(v) if v.is_finite() && (min..=max).contains(&v) => v,
            Some(v) => {
                self.problem(name, format!("{v} is out of range ({min} to {max})"));
                default
            }
            None => {
                self.problem(name, "expected a number");
                default
            }
        }
    }

    pub fn integer(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        let v = match self.raw(name) {
            None => return default,
            Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_i64().map(|_| u64::MAX)),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(v) if (min..=max).contains(&v) => v,
            Some(_) => {
                self.problem(name, format!("out of range ({min} to {max})"));
                default
            }
            None => {
                self.problem(name, "expected a whole number");
                default
            }
        }
    }

    pub fn millis(&mut self, name: &str, default_ms: u64, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.integer(name, default_ms, min, max))
    }

    pub fn seconds(&mut self, name: &str, default_s: f64, min: f64, max: f64) -> Duration {
        Duration::from_secs_f64(self.number(name, default_s, min, max))
    }

    pub fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.raw(name) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(_) => {
                self.problem(name, "expected true or false");
                default
            }
        }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(&mut self, name: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(text) = self.opt_string(name) else { return default };
        if let Some((_, v)) = options.iter().find(|(w, _)| *w == text) {
            return *v;
        }
        let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
        self.problem(name, format!("{text:?} is not one of: {}", words.join(", ")));
        default
    }

    pub fn path(&mut self, name: &str, default: &str) -> PathBuf {
        PathBuf::from(self.string(name, default))
    }

    /// A list of strings (a single string is taken as a one-element list).
    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        match self.raw(name)? {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        other => {
                            self.problem(&format!("{name}[{i}]"), format!("expected a string, found {}", kind(other)))
                        }
                    }
                }
                Some(out)
            }
            Value::String(s) => Some(vec![s.clone()]),
            other => {
                self.problem(name, format!("expected a list of strings, found {}", kind(other)));
                None
            }
        }
    }

    /// Reports every key of this table that no read asked for.
    pub fn finish(self) {
        let Some(table) = self.table else { return };
        for k in table.keys() {
            if !self.seen.contains(k) {
                let key = if self.prefix.is_empty() { k.clone() } else { format!("{}.{k}", self.prefix) };
                self.problems.push(Problem { key, message: "unknown key".into() });
            }
        }
    }
}

/// The entries of an array of tables (`[[name]]`): each with its key prefix
/// (`name[i]`). Problems are recorded for a value that is not an array and
/// for entries that are not tables; absent means no entry.
pub fn tables<'v>(
    v: Option<&'v Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, &'v serde_json::Map<String, Value>)> {
    let items = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            problems.push(Problem {
                key: name.into(),
                message: format!("expected [[{name}]] tables, found {}", kind(other)),
            });
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("{name}[{i}]");
        match item.as_object() {
            Some(t) => out.push((prefix, t)),
            None => problems.push(Problem { key: prefix, message: "expected a table".into() }),
        }
    }
    out
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}
