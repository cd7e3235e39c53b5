//! `campaign::record` (`NewRecord::from_json`, `normalize_phone`) and
//! `campaign::sortkey` (`SortSpec`, the reference `compare` and the
//! memcmp-able `key` the queue stores).
//!
//! Input: UTF-8 text; the first line is a sort spec (also tried as a phone
//! number), the rest up to two JSON values, one after the other (`{…} {…}`).
//!
//! Invariants: nothing panics; a normalised phone number normalises to
//! itself; a loaded record's numbers are normalised (at most `MAX_PHONE2`
//! besides `phone1`) and its custom fields have lowercase names and
//! non-empty values; a spec that parses prints (`Display`) to text that
//! parses back to the same spec; under that spec, and under one naming every
//! field the two records have, `key(a, 1).cmp(&key(b, 2))` is
//! `compare(a, 1, b, 2)` (both ways round, and each record against itself).
#![no_main]

use dialerd::campaign::record::{MAX_PHONE2, NewRecord, normalize_phone};
use dialerd::campaign::sortkey::{Direction, MAX_SORT_FIELDS, SortSpec, compare, key};
use libfuzzer_sys::fuzz_target;

fn check_phone(s: &str) {
    let Ok(p) = normalize_phone(s) else { return };
    let digits = p.strip_prefix('+').unwrap_or(&p);
    assert!((2..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()), "{s:?} -> {p:?}");
    assert_eq!(normalize_phone(&p).as_deref(), Ok(p.as_str()), "{s:?} -> {p:?} is not a fixed point");
}

fn check_record(v: &serde_json::Value, r: &NewRecord) {
    assert!(!r.phone1.is_empty(), "{v}: empty phone1");
    assert!(r.phone2.len() <= MAX_PHONE2, "{v}: {} phone2", r.phone2.len());
    for p in r.phones() {
        assert_eq!(normalize_phone(p).as_deref(), Ok(p), "{v}: {p:?} is not normalised");
    }
    for t in [&r.account, &r.first_name, &r.last_name, &r.email, &r.time_zone].into_iter().flatten() {
        assert!(!t.is_empty(), "{v}: an empty text field kept");
    }
    for (k, val) in &r.fields {
        assert!(
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{v}: {k:?}"
        );
        assert!(!val.is_empty(), "{v}: {k} is empty");
        assert_eq!(r.field(k), Some(val.as_str()), "{v}: {k} shadowed by a known field");
    }
}

fn check_order(spec: &SortSpec, a: &NewRecord, b: &NewRecord) {
    let by_key = key(spec, a, 1).cmp(&key(spec, b, 2));
    assert_eq!(by_key, compare(spec, a, 1, b, 2), "{spec}: key and compare disagree on\n{a:?}\n{b:?}");
    assert_eq!(key(spec, b, 2).cmp(&key(spec, a, 1)), by_key.reverse(), "{spec}: keys not antisymmetric");
    assert_eq!(compare(spec, b, 2, a, 1), by_key.reverse(), "{spec}: compare not antisymmetric");
    for r in [a, b] {
        assert!(key(spec, r, 1) < key(spec, r, 2), "{spec}: the upload sequence is not the last tie-break");
        assert!(compare(spec, r, 1, r, 2).is_lt());
        assert!(compare(spec, r, 2, r, 2).is_eq());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (spec_text, json) = text.split_once('\n').unwrap_or((text, ""));
    check_phone(spec_text);

    let values: Vec<serde_json::Value> =
        serde_json::Deserializer::from_str(json).into_iter().take(2).map_while(Result::ok).collect();
    let mut records = Vec::new();
    for v in &values {
        match NewRecord::from_json(v) {
            Ok(r) => {
                check_record(v, &r);
                records.push(r);
            }
            // `field` is the JSON key as given, which may be "".
            Err(e) => assert!(!e.message.is_empty(), "{v}: {e:?}"),
        }
    }

    let parsed = spec_text.parse::<SortSpec>();
    if let Ok(spec) = &parsed {
        if let SortSpec::Fields(f) = spec {
            assert!(!f.is_empty() && f.len() <= MAX_SORT_FIELDS, "{spec_text:?}");
        }
        let shown = spec.to_string();
        assert_eq!(shown.parse::<SortSpec>().as_ref(), Ok(spec), "{spec_text:?} shown as {shown:?}");
    }

    let (a, b) = match records.as_slice() {
        [] => return,
        [a] => (a, a),
        [a, b, ..] => (a, b),
    };
    if let Ok(spec) = &parsed {
        check_order(spec, a, b);
    }
    // Every field either record has, so the fuzzer need not guess names;
    // the directions come from the spec line's bytes.
    let mut names: Vec<&str> = ["phone1", "account", "first_name", "last_name", "email", "time_zone"]
        .into_iter()
        .chain(a.fields.keys().chain(b.fields.keys()).map(String::as_str))
        .filter(|n| a.field(n).is_some() || b.field(n).is_some())
        // A custom field may be called `upload`, which a spec cannot name.
        .filter(|n| !matches!(*n, "upload" | "upload_order"))
        .collect();
    names.sort_unstable();
    names.dedup();
    let dirs = spec_text.as_bytes();
    let fields = names
        .into_iter()
        .take(MAX_SORT_FIELDS)
        .enumerate()
        .map(|(i, n)| {
            let desc = dirs.get(i).is_some_and(|d| d & 1 == 1);
            (n.to_string(), if desc { Direction::Desc } else { Direction::Asc })
        })
        .collect::<Vec<_>>();
    let spec = SortSpec::Fields(fields);
    assert_eq!(spec.to_string().parse::<SortSpec>().as_ref(), Ok(&spec));
    check_order(&spec, a, b);
});
