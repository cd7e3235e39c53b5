//! SMS segmentation per GSM 03.38 / 3GPP TS 23.038 for lead follow-up messages.
//!
//! Lucep sends a transactional SMS with the confirm link when the call fails, and "should comply to regular SMS
//! constraints of 160 characters". The real constraint is in encoding units, not characters: 160 GSM-7 septets
//! or 70 UCS-2 code units for a single message, and 153 / 67 per part once a concatenation header (UDH) is
//! needed. Carriers bill per part and some refuse long messages, so the campaign layer must know the exact part
//! count before sending. This module owns that arithmetic and the split itself; it is pure so templates can be
//! checked when a campaign is configured, not only when a message is sent.

use std::fmt;

/// How the whole message is sent. One character outside GSM-7 switches every part to UCS-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        })
    }
}

impl Encoding {
    /// Units in a message that fits without a concatenation header.
    fn single(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units per part once the 6-byte UDH takes its share (7 septets or 3 UCS-2 units).
    fn per_part(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// What to do with text longer than one SMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Send a concatenated SMS of at most `max_parts` parts (capped at 255, the 8-bit UDH reference's limit).
    /// Text that fits a single SMS is always accepted, whatever `max_parts` says.
    Split { max_parts: u32 },
    /// Only a single SMS is acceptable (e.g. a provider without concatenation support).
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmented {
    pub encoding: Encoding,
    /// The text of each part, in order; concatenated they give back the input exactly.
    pub parts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("SMS text is empty")]
    Empty,
    /// `limit` is nominal (160/70 for one SMS, else max_parts × 153/67); an escape char or surrogate pair that
    /// cannot straddle a part boundary can make a text of `limit` units or fewer need one part more.
    #[error("SMS text is too long: {units} {encoding} units where at most {limit} fit")]
    TooLong { encoding: Encoding, units: usize, limit: usize },
}

/// Characters of the GSM 03.38 default alphabet outside printable ASCII (which is all in it except '`' and the
/// extension characters). 0x09 is 'Ç' as ETSI draws it; Unicode's GSM0338.TXT maps it to 'ç' instead and
/// encoders follow either. Counting only 'Ç' errs safe: a French 'ç' costs a UCS-2 message (more parts than
/// some providers need), while the rare capital is the only case an encoder might disagree with.
const GSM_BASIC_NON_ASCII: &str = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";

/// Septets a character costs in GSM-7: 1 for the basic table, 2 for the extension table (escape + code),
/// `None` when it has no GSM-7 encoding at all.
fn septets(c: char) -> Option<usize> {
    match c {
        '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' | '\x0C' => Some(2),
        '`' => None,
        ' '..='~' | '\n' | '\r' => Some(1),
        _ if GSM_BASIC_NON_ASCII.contains(c) => Some(1),
        _ => None,
    }
}

fn cost(c: char, encoding: Encoding) -> usize {
    match encoding {
        // The fallback never applies: a text is GSM-7 only when every char has a septet count.
        Encoding::Gsm7 => septets(c).unwrap_or(2),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// GSM-7 when every character has a GSM-7 encoding, else UCS-2.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| septets(c).is_some()) { Encoding::Gsm7 } else { Encoding::Ucs2 }
}

/// Length in the message's own encoding: septets for GSM-7 (extension chars count 2), UTF-16 code units for
/// UCS-2 (so an emoji outside the BMP counts 2).
pub fn units(text: &str) -> usize {
    let enc = encoding(text);
    text.chars().map(|c| cost(c, enc)).sum()
}

/// Splits `text` into SMS parts. Parts are filled greedily on character boundaries, so an extension character
/// (escape + code) or a surrogate pair is never cut; a grapheme cluster (e.g. a flag emoji) can still be, as
/// phones rejoin the parts before display.
pub fn segment(text: &str, overflow: Overflow) -> Result<Segmented, SmsError> {
    if text.is_empty() {
        return Err(SmsError::Empty);
    }
    let encoding = encoding(text);
    let units: usize = text.chars().map(|c| cost(c, encoding)).sum();
    if units <= encoding.single() {
        return Ok(Segmented { encoding, parts: vec![text.to_owned()] });
    }
    let max_parts = match overflow {
        Overflow::Refuse => return Err(SmsError::TooLong { encoding, units, limit: encoding.single() }),
        Overflow::Split { max_parts } => max_parts.min(255) as usize,
    };
    let too_long = || {
        let limit = if max_parts <= 1 { encoding.single() * max_parts } else { encoding.per_part() * max_parts };
        SmsError::TooLong { encoding, units, limit }
    };
    if units > encoding.per_part() * max_parts {
        return Err(too_long());
    }
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in text.char_indices() {
        let n = cost(c, encoding);
        if used + n > encoding.per_part() {
            parts.push(text[start..i].to_owned());
            (start, used) = (i, 0);
        }
        used += n;
    }
    parts.push(text[start..].to_owned());
    // The nominal check above cannot see the slack left by chars pushed to the next part.
    if parts.len() > max_parts {
        return Err(too_long());
    }
    Ok(Segmented { encoding, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPLIT: Overflow = Overflow::Split { max_parts: 10 };

    fn size(part: &str, encoding: Encoding) -> usize {
        part.chars().map(|c| cost(c, encoding)).sum()
    }

    fn lens(s: &Segmented) -> Vec<usize> {
        s.parts.iter().map(|p| size(p, s.encoding)).collect()
    }

    #[test]
    fn gsm7_boundaries() {
        let one = segment(&"a".repeat(160), SPLIT).unwrap();
        assert_eq!((one.encoding, one.parts.len()), (Encoding::Gsm7, 1));
        let two = segment(&"a".repeat(161), SPLIT).unwrap();
        assert_eq!(lens(&two), [153, 8]);
        assert_eq!(lens(&segment(&"a".repeat(306), SPLIT).unwrap()), [153, 153]);
        assert_eq!(lens(&segment(&"a".repeat(307), SPLIT).unwrap()), [153, 153, 1]);
    }

    #[test]
    fn ucs2_boundaries_hebrew_and_russian() {
        let one = segment(&"ש".repeat(70), SPLIT).unwrap();
        assert_eq!((one.encoding, one.parts.len()), (Encoding::Ucs2, 1));
        assert_eq!(lens(&segment(&"ש".repeat(71), SPLIT).unwrap()), [67, 4]);
        let ru = "Здравствуйте! Перезвоните нам.";
        assert_eq!((encoding(ru), units(ru)), (Encoding::Ucs2, 30));
        // One non-GSM char turns the whole message into UCS-2, halving its capacity.
        assert_eq!(encoding(&format!("{}ç", "a".repeat(100))), Encoding::Ucs2);
        assert_eq!(segment(&format!("{}Ж", "a".repeat(100)), SPLIT).unwrap().parts.len(), 2);
    }

    #[test]
    fn charset_details() {
        assert_eq!(units("€"), 2);
        assert_eq!(units("^{}\\[~]|\x0C"), 18);
        // The whole GSM 03.38 default table in code order, minus 0x1B (the escape itself).
        let table = concat!(
            "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?",
            "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
        );
        assert_eq!((table.chars().count(), encoding(table), units(table)), (127, Encoding::Gsm7, 127));
        assert_eq!(encoding("Café 10€ [ok]"), Encoding::Gsm7);
        for not_gsm in ["`", "ç", "\t", "\x1B", "é\u{301}", "’", "😀"] {
            assert_eq!(encoding(not_gsm), Encoding::Ucs2, "{not_gsm:?}");
        }
        assert_eq!(units("😀"), 2);
        assert_eq!(serde_json::to_string(&[Encoding::Gsm7, Encoding::Ucs2]).unwrap(), r#"["gsm7","ucs2"]"#);
    }

    #[test]
    fn escape_char_is_not_split() {
        // 152 septets then '€': it would occupy septets 153-154, so it moves whole to part two.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let s = segment(&text, SPLIT).unwrap();
        assert_eq!(s.parts[0], "a".repeat(152));
        assert_eq!(s.parts[1], format!("€{}", "b".repeat(10)));
        assert_eq!(lens(&s), [152, 12]);
    }

    #[test]
    fn surrogate_pair_is_not_split() {
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
        let s = segment(&text, SPLIT).unwrap();
        assert_eq!(lens(&s), [66, 12]);
        assert!(s.parts[1].starts_with('😀'));
    }

    #[test]
    fn refuse_and_max_parts() {
        assert_eq!(segment("", SPLIT), Err(SmsError::Empty));
        assert_eq!(segment(&"a".repeat(160), Overflow::Refuse).unwrap().parts.len(), 1);
        let err = segment(&"a".repeat(161), Overflow::Refuse).unwrap_err();
        assert_eq!(err, SmsError::TooLong { encoding: Encoding::Gsm7, units: 161, limit: 160 });
        assert_eq!(err.to_string(), "SMS text is too long: 161 GSM-7 units where at most 160 fit");
        let two = Overflow::Split { max_parts: 2 };
        assert_eq!(segment(&"ы".repeat(134), two).unwrap().parts.len(), 2);
        let err = segment(&"ы".repeat(135), two).unwrap_err();
        assert_eq!(err, SmsError::TooLong { encoding: Encoding::Ucs2, units: 135, limit: 134 });
        // 306 septets nominally fit two parts, but the '€' that cannot straddle the boundary needs a third.
        let tight = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(
            segment(&tight, two).unwrap_err(),
            SmsError::TooLong { encoding: Encoding::Gsm7, units: 306, limit: 306 }
        );
        let one = Overflow::Split { max_parts: 1 };
        assert_eq!(
            segment(&"a".repeat(161), one).unwrap_err(),
            SmsError::TooLong { encoding: Encoding::Gsm7, units: 161, limit: 160 }
        );
        assert!(segment("a", Overflow::Split { max_parts: 0 }).is_ok());
        let huge = Overflow::Split { max_parts: u32::MAX };
        assert_eq!(
            segment(&"a".repeat(153 * 256), huge).unwrap_err(),
            SmsError::TooLong { encoding: Encoding::Gsm7, units: 153 * 256, limit: 153 * 255 }
        );
    }

    #[test]
    fn generated_texts_round_trip_within_limits() {
        let alphabet: Vec<char> = "ab €^{}\\[~]|\nZ9ÄçשЖ😀🇮🇱".chars().collect();
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..2000 {
            // Mostly GSM-7 texts, with a non-GSM alphabet only every third round.
            let pool = if round % 3 == 0 { alphabet.len() } else { 13 };
            let len = 1 + (next() % 400) as usize;
            let text: String = (0..len).map(|_| alphabet[(next() % pool as u64) as usize]).collect();
            let s = segment(&text, Overflow::Split { max_parts: 255 }).unwrap();
            assert_eq!(s.parts.concat(), text);
            assert_eq!(s.encoding, encoding(&text));
            let sizes = lens(&s);
            let cap = if sizes.len() == 1 { s.encoding.single() } else { s.encoding.per_part() };
            assert!(sizes.iter().all(|&n| n > 0 && n <= cap), "{sizes:?}");
            // Greedy: each part but the last was closed only because its successor's first char did not fit.
            for (part, next_part) in s.parts.iter().zip(&s.parts[1..]) {
                let first = next_part.chars().next().unwrap();
                assert!(size(part, s.encoding) + cost(first, s.encoding) > cap);
            }
            match segment(&text, Overflow::Refuse) {
                Ok(one) => assert!(one.parts.len() == 1 && one.parts[0] == text),
                Err(e) => assert_eq!(
                    e,
                    SmsError::TooLong { encoding: s.encoding, units: units(&text), limit: s.encoding.single() }
                ),
            }
        }
    }
}
