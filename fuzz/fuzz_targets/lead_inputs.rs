//! What dialerd reads from web forms and lead links in `leads/`: the seed
//! 001 form fields (`wire::parse`), phone numbers (`phone::normalize`),
//! confirm-link tokens (`link::verify`), message templates
//! (`template::render`) and SMS segmentation (`sms::segment`). Any input
//! must give an answer, never a panic; a normalised number is E.164; a
//! link made by `link::sign` verifies and a changed one never does; SMS
//! parts join back into the text.
#![no_main]

use dialerd::leads::phone::{Strictness, normalize};
use dialerd::leads::sms::{Overflow, segment};
use dialerd::leads::template::{Escape, render};
use dialerd::leads::{link, wire};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let fields: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let _ = wire::parse(&fields);
    for (region, strict) in [("US", Strictness::Valid), ("IL", Strictness::Possible), ("SG", Strictness::Possible)] {
        if let Ok(e164) = normalize(&text, region, strict) {
            assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
        }
    }
    let _ = link::verify(b"secret-0123456789abcdef0123456789", &text, 1_700_000_000);
    let lead = i64::from(data.first().copied().unwrap_or(0));
    let token = link::sign(b"secret-0123456789abcdef0123456789", lead, 1_800_000_000);
    assert_eq!(link::verify(b"secret-0123456789abcdef0123456789", &token, 1_700_000_000), Ok(lead));
    let mut changed = token.clone();
    changed.push('0');
    assert!(link::verify(b"secret-0123456789abcdef0123456789", &changed, 1_700_000_000).is_err());
    let mut vars = BTreeMap::new();
    vars.insert("name".to_string(), text.to_string());
    for esc in [Escape::None, Escape::Html, Escape::Json] {
        let _ = render(&text, &vars, esc);
    }
    if let Ok(s) = segment(&text, Overflow::Split { max_parts: 10 }) {
        assert_eq!(s.parts.concat(), text);
    }
});
