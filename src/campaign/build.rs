//! Scrubbing of a campaign's initial build: numbers on the cell-phone list
//! and numbers already in the campaign are taken out of each record as it is
//! loaded, and a record left with no number is rejected. (Whether a load is
//! an initial build or an append is decided by the caller.)
//!
//! A build may be a million rows of up to 31 numbers each, so the set of
//! numbers seen holds 8-byte codes rather than strings: [`phone_code`] is
//! exact for every number up to 18 digits (E.164 stops at 15), and longer
//! ones fall back to a 64-bit hash.

use std::collections::HashSet;

use super::record::{NewRecord, normalize_phone};

/// Numbers that must not be dialled by this campaign's dialler, typically
/// mobiles where the law forbids autodialling them: whole numbers and
/// prefixes (`+447*`). Matching is on the normalised text, so `+447*` does
/// not match `07700900000`; list both forms if records come in both.
#[derive(Debug, Clone, Default)]
pub struct CellList {
    codes: HashSet<u64>,
    /// Numbers [`phone_code`] cannot encode, kept whole: a false match here
    /// would silently drop a good number.
    long: HashSet<Box<str>>,
    prefixes: HashSet<Box<str>>,
    /// Bit n set: some prefix is n bytes long; only those lengths are tried.
    prefix_lens: u32,
}

impl CellList {
    pub fn empty() -> Self {
        Self::default()
    }

    /// One entry per line: a number, or a prefix ending in `*`; `#` starts a
    /// comment; blank lines are ignored. Errors name the 1-based line.
    pub fn parse(text: &str) -> Result<CellList, String> {
        let mut list = CellList::empty();
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            let fail = |m: String| format!("line {}: {m}", i + 1);
            if let Some(prefix) = entry.strip_suffix('*') {
                let prefix = normalize_prefix(prefix).map_err(fail)?;
                list.prefix_lens |= 1 << prefix.len();
                list.prefixes.insert(prefix.into());
            } else {
                let phone = normalize_phone(entry).map_err(fail)?;
                match phone_code(&phone) {
                    Some(c) => list.codes.insert(c),
                    None => list.long.insert(phone.into()),
                };
            }
        }
        Ok(list)
    }

    /// Whether a normalised number is on the list.
    pub fn contains(&self, phone: &str) -> bool {
        let exact = match phone_code(phone) {
            Some(c) => self.codes.contains(&c),
            None => self.long.contains(phone),
        };
        exact
            || (1..=phone.len().min(31))
                .filter(|n| self.prefix_lens & (1 << n) != 0)
                .any(|n| phone.get(..n).is_some_and(|p| self.prefixes.contains(p)))
    }

    /// Distinct entries, numbers and prefixes.
    pub fn len(&self) -> usize {
        self.codes.len() + self.long.len() + self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A prefix is normalised like a number but may be as short as one digit.
fn normalize_prefix(s: &str) -> Result<String, String> {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("a prefix needs at least one digit (a bare * would match every number)".into());
    }
    if digits > 19 {
        return Err(format!("a prefix has at most 19 digits, not {digits}"));
    }
    // One more digit meets normalize_phone's minimum; it judges the rest.
    let mut p = normalize_phone(&format!("{s}0")).map_err(|m| m.replace("phone number", "prefix"))?;
    p.pop();
    Ok(p)
}

/// An exact 8-byte code of a normalised number (`+`? then digits), or None
/// if it is not one or has more than 18 digits. The code is the decimal
/// number `1` (no `+`) or `2` (`+`) followed by the digits: the leading digit
/// keeps the `+` and the leading zeros, and 19 decimal digits stay below
/// 2^64 (at most 2.99e18 < 1.8e19).
pub fn phone_code(phone: &str) -> Option<u64> {
    let (flag, digits) = match phone.strip_prefix('+') {
        Some(d) => (2, d),
        None => (1, phone),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(flag, |code, b| code * 10 + u64::from(b - b'0')))
}

/// FNV-1a: stable across runs and Rust versions, unlike the std hasher.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Why a record was rejected: what removed its `phone1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Duplicate,
    CellPhone,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Duplicate => "duplicate",
            Rejection::CellPhone => "cell_phone",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scrubbing state of one initial build: the cell list and every number
/// kept so far. Feed records in upload order; "duplicate" means "seen in an
/// earlier row" (or earlier in the same row).
pub struct Builder<'a> {
    cells: &'a CellList,
    codes: HashSet<u64>,
    /// Hashes of numbers too long for a code. Two such numbers with the same
    /// 64-bit hash would make the second a false duplicate; with n of them
    /// the odds are about n²/2^65, nil for any real build (and real numbers
    /// are rarely this long at all).
    hashed: HashSet<u64>,
}

impl<'a> Builder<'a> {
    pub fn new(cells: &'a CellList) -> Self {
        Builder { cells, codes: HashSet::new(), hashed: HashSet::new() }
    }

    /// Marks a (normalised) number as already in the campaign, e.g. one
    /// loaded before this build.
    pub fn remember(&mut self, phone: &str) {
        self.insert(phone);
    }

    /// True if the number was not seen before.
    fn insert(&mut self, phone: &str) -> bool {
        match phone_code(phone) {
            Some(c) => self.codes.insert(c),
            None => self.hashed.insert(fnv1a(phone)),
        }
    }

    /// The record with its cell and duplicate numbers removed (the first
    /// survivor moved up to `phone1` if need be), or why none survived. The
    /// survivors count as seen from now on.
    pub fn admit(&mut self, mut rec: NewRecord) -> Result<NewRecord, Rejection> {
        let phone1 = std::mem::take(&mut rec.phone1);
        let phone2 = std::mem::take(&mut rec.phone2);
        let mut kept = Vec::with_capacity(1 + phone2.len());
        let mut phone1_cause = None;
        for (i, phone) in std::iter::once(phone1).chain(phone2).enumerate() {
            let cause = if self.cells.contains(&phone) {
                Some(Rejection::CellPhone)
            } else if !self.insert(&phone) {
                Some(Rejection::Duplicate)
            } else {
                None
            };
            match cause {
                None => kept.push(phone),
                Some(c) if i == 0 => phone1_cause = Some(c),
                Some(_) => {}
            }
        }
        if kept.is_empty() {
            return Err(phone1_cause.expect("phone1 was removed"));
        }
        rec.phone1 = kept.remove(0);
        rec.phone2 = kept;
        Ok(rec)
    }

    /// Distinct numbers seen: remembered or kept.
    pub fn seen(&self) -> usize {
        self.codes.len() + self.hashed.len()
    }
}

#[cfg(test)]
mod tests;
