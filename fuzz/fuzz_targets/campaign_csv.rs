//! `campaign::csv::CsvRecords`: a CSV upload streamed in chunks split
//! anywhere (inside the BOM, a quoted field, a CRLF, a UTF-8 sequence),
//! checked against the same bytes fed whole.
//!
//! Input: `[split seed:2][csv…]`. The seed's low 3 bits pick the largest
//! chunk (1 byte to 1 KiB), the rest seed a PRNG drawing each chunk's length
//! from 0 (an empty feed) up to it.
//!
//! Invariants: the chunked run gives exactly the rows, row errors and
//! header error of the whole run (differential); a header error comes
//! before any row and is sticky (every later `feed` and `finish` repeat it
//! and push nothing); data rows are numbered 1, 2, 3… without gaps and
//! `rows_seen` is the last; every loaded record has a non-empty, already
//! normalised `phone1` and at most `MAX_PHONE2` normalised `phone2`; no panic.
#![no_main]

use dialerd::campaign::csv::{CsvError, CsvRecords, Rows};
use dialerd::campaign::record::{MAX_PHONE2, normalize_phone};
use libfuzzer_sys::fuzz_target;

const MAX_CHUNK: [usize; 8] = [1, 2, 3, 4, 7, 16, 64, 1024];

/// Feeds `chunks` in order, then finishes; stops at the first header error
/// after checking that it sticks.
fn run<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Rows, Option<CsvError>, u64) {
    let mut p = CsvRecords::new();
    let mut out = Rows::new();
    let mut chunks = chunks.peekable();
    let mut failed = None;
    while let Some(c) = chunks.next() {
        if let Err(e) = p.feed(c, &mut out) {
            failed = Some(e);
            break;
        }
    }
    if failed.is_none()
        && let Err(e) = p.finish(&mut out)
    {
        failed = Some(e);
    }
    if let Some(e) = &failed {
        assert!(out.is_empty(), "a header error after {} rows: {e}", out.len());
        let CsvError::Header(m) = e;
        assert!(!m.is_empty());
        let n = out.len();
        for c in chunks.chain([&b"phone1\n5550100\n"[..], b""]) {
            assert_eq!(p.feed(c, &mut out).as_ref(), Err(e), "a header error did not stick");
        }
        assert_eq!(p.finish(&mut out).as_ref(), Err(e), "a header error did not stick at finish");
        assert_eq!(out.len(), n, "rows after a header error");
    }
    (out, failed, p.rows_seen())
}

fuzz_target!(|data: &[u8]| {
    let (seed, csv) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return,
    };
    let max = MAX_CHUNK[usize::from(seed & 7)];
    // xorshift32; never zero.
    let mut state = u32::from(seed >> 3) | 0x1_0000;
    let mut chunks = Vec::new();
    let mut rest = csv;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state as usize % (max + 1)).min(rest.len());
        let (c, r) = rest.split_at(n);
        chunks.push(c);
        rest = r;
    }

    let whole = run(std::iter::once(csv));
    let split = run(chunks.iter().copied());
    assert_eq!(split, whole, "chunks {:?} differ from one feed", chunks.iter().map(|c| c.len()).collect::<Vec<_>>());

    let (rows, failed, seen) = whole;
    if failed.is_some() {
        return;
    }
    assert_eq!(seen, rows.len() as u64, "rows_seen is not the number of rows reported");
    for (i, r) in rows.iter().enumerate() {
        let want = i as u64 + 1;
        match r {
            Ok((n, rec)) => {
                assert_eq!(*n, want, "row numbers out of order");
                assert!(!rec.phone1.is_empty(), "row {n}: empty phone1");
                assert!(rec.phone2.len() <= MAX_PHONE2, "row {n}: {} phone2", rec.phone2.len());
                for p in rec.phones() {
                    assert_eq!(normalize_phone(p).as_deref(), Ok(p), "row {n}: {p:?} is not normalised");
                }
                for (k, v) in &rec.fields {
                    assert!(!k.is_empty() && !k.bytes().any(|b| b.is_ascii_uppercase()), "row {n}: field {k:?}");
                    assert!(!v.is_empty() && v.trim() == v, "row {n}: {k} = {v:?}");
                }
            }
            Err(e) => {
                assert_eq!(e.row, want, "row numbers out of order");
                // `field` may be empty: a column with an empty header name.
                assert!(!e.message.is_empty(), "{e:?}");
            }
        }
    }
});
