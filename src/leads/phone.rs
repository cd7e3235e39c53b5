//! Lead phone numbers: curation, the Lucep format check and conversion to E.164.
//!
//! Lucep-compatible clients submit `phone_number` as free text typed into web forms, often on phones, so it
//! arrives with typographic dashes, odd spaces, bidi marks and fullwidth digits. The Lucep contract is to
//! *curate* the text (drop every dash look-alike), check it against `/^[a-zA-Z0-9 ().\-+#,]{2,30}$/`, and only
//! then record it. The dialer additionally needs a dialable E.164 number, which is what [`normalize`] returns.
//! Parsing and validation use the `phonenumber` crate (a port of libphonenumber and its metadata); everything
//! here is pure so the API layer and config validation can share it.

use phonenumber::metadata::{DATABASE, Metadata};
use phonenumber::{ParseError, PhoneNumber, country};

/// How sure we must be that a number exists before the dialer spends a call attempt on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// libphonenumber's `is_valid`: the digits match an allocated range (fixed line, mobile, toll free...).
    Valid,
    /// The number parses and its national significant number has a length used by its country
    /// (libphonenumber's `IS_POSSIBLE`). Looser, so numbers from ranges newer than the metadata still dial.
    Possible,
}

/// Why a phone number was refused. Shown to API users, so messages never echo the number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number must be 2 to 30 of letters, digits, space and ( ) . - + # ,")]
    Pattern,
    #[error("phone number is not dialable: {0}")]
    NotDialable(String),
    #[error("unknown default region {0:?}: expected an ISO 3166 alpha-2 code such as US or GB")]
    BadRegion(String),
}

/// Bytes above this cannot be a curated number (30 chars); refusing early bounds the parser's work.
const MAX_INPUT: usize = 120;

/// Characters that stand in for a dash in numbers typed or pasted from rich text, all removed like ASCII '-'.
/// The list is the BMP part of the Unicode `Dash` property (hyphens, en/em dashes, minus signs, the Hebrew
/// maqaf U+05BE that Hebrew layouts emit, the wave dash U+301C...) plus look-alikes outside it that real input
/// produces between digit groups: U+00AD soft hyphen (invisible, survives copy/paste), U+2043 hyphen bullet,
/// U+2796 heavy minus (emoji keyboards), and U+30FC katakana prolonged sound mark and U+FF5E fullwidth tilde,
/// which Japanese IMEs type for "-" and "〜" (libphonenumber treats both as punctuation too).
const DASHES: &[char] = &[
    '-', '\u{00AD}', '\u{058A}', '\u{05BE}', '\u{1400}', '\u{1806}', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}',
    '\u{2014}', '\u{2015}', '\u{2043}', '\u{2053}', '\u{207B}', '\u{208B}', '\u{2212}', '\u{2796}', '\u{2E17}',
    '\u{2E1A}', '\u{2E3A}', '\u{2E3B}', '\u{2E40}', '\u{2E5D}', '\u{301C}', '\u{3030}', '\u{30A0}', '\u{30FC}',
    '\u{FE31}', '\u{FE32}', '\u{FE58}', '\u{FE63}', '\u{FF0D}', '\u{FF5E}',
];

/// Invisible format characters: zero-width spaces/joiners, BOM, and bidi marks/isolates. RTL phones (Hebrew,
/// Arabic) wrap numbers in LRM/RLM; left in, they would fail the pattern with an error the user cannot see.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}')
        || c == '\u{FEFF}'
}

/// Digits from phone keyboards in other scripts: fullwidth (CJK IMEs), Arabic-Indic and Extended Arabic-Indic
/// (Arabic and Persian locales). Fullwidth ASCII punctuation (＋（）) is folded too so the pattern sees ASCII.
fn fold(c: char) -> char {
    let base = match c {
        '\u{FF01}'..='\u{FF5E}' => return char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{0660}'..='\u{0669}' => 0x0660,
        '\u{06F0}'..='\u{06F9}' => 0x06F0,
        _ if c.is_whitespace() => return ' ',
        _ => return c,
    };
    char::from_u32('0' as u32 + (c as u32 - base)).unwrap_or(c)
}

/// Lucep curation: drops dash look-alikes and invisible marks, folds exotic digits and spaces to ASCII,
/// collapses runs of spaces (so "20 – 7946" does not keep a double space that eats into the 30-char budget)
/// and trims. Never fails; the result may still be rejected by [`matches_pattern`].
pub fn curate(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if DASHES.contains(&c) || is_invisible(c) {
            continue;
        }
        let c = fold(c);
        // After folding, so an ideographic or no-break space also collapses into its neighbour.
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The seed's `/^[a-zA-Z0-9 ().\-+#,]{2,30}$/`, read with '-' literal as the Lucep text intends.
pub fn matches_pattern(s: &str) -> bool {
    // Every allowed char is ASCII, so the byte length is the char length whenever the check passes.
    (2..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b" ().-+#,".contains(&b))
}

fn region_id(region: &str) -> Option<country::Id> {
    if region.len() != 2 {
        return None;
    }
    let id: country::Id = region.to_ascii_uppercase().parse().ok()?;
    DATABASE.by_id(id.as_ref()).map(|_| id)
}

/// Whether `region` names a country libphonenumber has metadata for ("us" is accepted as "US").
pub fn valid_region(region: &str) -> bool {
    region_id(region).is_some()
}

fn not_dialable(why: &str) -> PhoneError {
    PhoneError::NotDialable(why.to_owned())
}

fn parse_error(e: ParseError) -> PhoneError {
    not_dialable(match e {
        ParseError::InvalidCountryCode => "unknown country calling code",
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => "too short",
        ParseError::TooLong => "too long",
        ParseError::NoNumber | ParseError::MalformedInteger(_) => "no phone number found",
    })
}

/// The metadata libphonenumber's `isPossibleNumber` consults: the main country of the calling code, since a
/// shared code (+1, +44, +7) has one numbering plan for lengths.
fn main_metadata(code: u16) -> Option<&'static Metadata> {
    let all = DATABASE.by_code(&code)?;
    all.iter().find(|m| m.is_main_country_for_code()).or(all.first()).copied()
}

/// libphonenumber's possible-length test. The port leaves the general descriptor's lengths empty (upstream
/// derives them at build time), so the union over number types is computed here. Local-only lengths (US
/// 7-digit numbers) are refused: the dialer cannot guess the missing area code.
fn check_length(n: &PhoneNumber) -> Result<(), PhoneError> {
    let meta = main_metadata(n.code().value()).ok_or_else(|| not_dialable("unknown country calling code"))?;
    let d = meta.descriptors();
    let kinds = [d.fixed_line(), d.mobile(), d.toll_free(), d.premium_rate(), d.shared_cost()];
    let more = [d.personal_number(), d.voip(), d.pager(), d.uan(), d.voicemail()];
    let mut lengths: Vec<u16> =
        kinds.into_iter().chain(more).flatten().flat_map(|x| x.possible_length()).copied().collect();
    lengths.sort_unstable();
    let len = n.national().to_string().len() as u16;
    let place = meta.id();
    // Only national input can be missing its area code; "+44 20 7946" is simply too short.
    let national = matches!(n.code().source(), country::Source::Default | country::Source::Number);
    let local_only = national
        && [d.fixed_line(), d.mobile()].into_iter().flatten().any(|x| x.possible_local_length().contains(&len));
    match (lengths.first(), lengths.last()) {
        _ if lengths.contains(&len) => Ok(()),
        _ if local_only => Err(PhoneError::NotDialable(format!("the area code is missing for {place}"))),
        (Some(&min), _) if len < min => Err(PhoneError::NotDialable(format!("too short for {place}"))),
        (_, Some(&max)) if len > max => Err(PhoneError::NotDialable(format!("too long for {place}"))),
        _ => Err(PhoneError::NotDialable(format!("not a possible number length for {place}"))),
    }
}

/// Length and strictness checks on a parsed number, then "+<digits>".
fn finish(parsed: Result<PhoneNumber, ParseError>, strictness: Strictness) -> Result<String, PhoneError> {
    let n = parsed.map_err(parse_error)?;
    // Always, even for Valid: the port matches type patterns unanchored at the end, so without the length
    // check a valid number with extra trailing digits could pass.
    check_length(&n)?;
    if strictness == Strictness::Valid && !n.is_valid() {
        let place = n.metadata(&DATABASE).map_or_else(|| format!("+{}", n.code().value()), |m| m.id().to_owned());
        return Err(PhoneError::NotDialable(format!("not a valid number for {place}")));
    }
    // Formatted by hand: the crate's Display returns fmt::Error (a panic in to_string) for unknown codes.
    Ok(format!("+{}{}", n.code().value(), n.national()))
}

/// Parses a curated number and returns it as "+<digits>".
///
/// `region` is the account's default region, used only for national numbers. A leading '+' selects the
/// country instead, and so does "00": it is read as the ITU international prefix first, whatever the region
/// dials abroad with (a US lead typing "00 44..." means the UK, and libphonenumber alone would read Singapore's
/// "004..." as carrier prefix 004). Only when that reading is not dialable is the region's own international
/// prefix tried, which keeps Australia's "0011 44..." and Singapore's "001 44..." working. Extensions ("x12",
/// "#12") are dropped: the dialer calls the main number. The region is validated even when unused, so a
/// misconfigured account fails on its first lead rather than on its first national one.
pub fn to_e164(curated: &str, region: &str, strictness: Strictness) -> Result<String, PhoneError> {
    let id = region_id(region).ok_or_else(|| PhoneError::BadRegion(region.chars().take(8).collect()))?;
    if curated.len() > MAX_INPUT {
        return Err(not_dialable("too long"));
    }
    let trimmed = curated.trim_start();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let Some(rest) = trimmed.strip_prefix("00") else {
        return finish(phonenumber::parse(Some(id), trimmed), strictness);
    };
    let itu = finish(phonenumber::parse(None, format!("+{rest}")), strictness);
    if itu.is_ok() {
        return itu;
    }
    match phonenumber::parse(Some(id), trimmed) {
        // Any other reading would be a national number starting "00", which no numbering plan has.
        Ok(n) if n.code().source() == country::Source::Idd => finish(Ok(n), strictness).or(itu),
        _ => itu,
    }
}

/// The full intake path: [`curate`], then the Lucep pattern, then [`to_e164`].
pub fn normalize(raw: &str, region: &str, strictness: Strictness) -> Result<String, PhoneError> {
    let curated = curate(raw);
    if curated.is_empty() {
        return Err(PhoneError::Empty);
    }
    if !matches_pattern(&curated) {
        return Err(PhoneError::Pattern);
    }
    to_e164(&curated, region, strictness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Strictness::{Possible, Valid};

    fn nd(why: &str) -> Result<String, PhoneError> {
        Err(PhoneError::NotDialable(why.to_owned()))
    }

    #[test]
    fn curate_removes_dashes_and_folds_spaces_and_digits() {
        assert_eq!(curate("  +1 (212) 555\u{2011}0101 "), "+1 (212) 5550101");
        assert_eq!(curate("050-123-4567"), "0501234567");
        assert_eq!(curate("20 \u{2013} 7946\u{2014}0958"), "20 79460958");
        let listed = "\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2212}\u{2043}\u{FE58}\u{FE63}\u{FF0D}\u{00AD}\u{2E3A}\u{2E3B}\u{301C}\u{30FC}";
        for dash in listed.chars() {
            assert_eq!(curate(&format!("12{dash}34")), "1234", "U+{:04X}", dash as u32);
        }
        assert_eq!(curate("03\u{30FC}1234\u{301C}5678"), "0312345678");
        assert_eq!(curate("1\u{00A0}2\u{2007}3\u{202F}4"), "1 2 3 4");
        assert_eq!(curate("\u{FF0B}\u{FF14}\u{FF14} \u{FF12}\u{FF10}"), "+44 20");
        assert_eq!(curate("\u{0660}\u{0665}\u{0669}\u{06F0}"), "0590");
        assert_eq!(curate("\u{200E}+972 50\u{05BE}234\u{200F}"), "+972 50234");
        assert_eq!(curate("\t1\n2  3\r"), "1 2 3");
        assert_eq!(curate("---"), "");
        assert_eq!(curate("John Smith"), "John Smith");
    }

    #[test]
    fn pattern_is_the_seed_regex() {
        for ok in ["15551234", "12", "+1 (212) 555.0101", "123#45,6", "1-800-FLOWERS", &"9".repeat(30)] {
            assert!(matches_pattern(ok), "{ok}");
        }
        for bad in ["1", "", "<script>", "12_34", "12/34", "1*2", &"9".repeat(31), "١٢٣", "+44\u{00A0}20"] {
            assert!(!matches_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn seed_example_depends_on_region_and_strictness() {
        // Lucep's sample "15551234" is not a real number anywhere. Under SG it is an 8-digit national number,
        // a possible Singapore length but in no allocated range; under US it reads as trunk '1' + 7-digit
        // local-only number, which lacks an area code (libphonenumber's IS_POSSIBLE_LOCAL_ONLY).
        assert_eq!(normalize("15551234", "SG", Possible), Ok("+6515551234".into()));
        assert_eq!(normalize("15551234", "SG", Valid), nd("not a valid number for SG"));
        assert_eq!(normalize("15551234", "US", Possible), nd("the area code is missing for US"));
        assert_eq!(normalize("15551234", "US", Valid), nd("the area code is missing for US"));
        assert_eq!(normalize("555 1234", "US", Possible), nd("the area code is missing for US"));
    }

    #[test]
    fn international_and_national_numbers() {
        let us = "+1 (212) 555\u{2011}0101";
        assert_eq!(normalize(us, "US", Valid), Ok("+12125550101".into()));
        assert_eq!(normalize(us, "SG", Valid), Ok("+12125550101".into()));
        assert_eq!(normalize("+44 20 7946 0958", "US", Valid), Ok("+442079460958".into()));
        assert_eq!(normalize("020 7946 0958", "GB", Valid), Ok("+442079460958".into()));
        assert_eq!(normalize("81234567", "SG", Valid), Ok("+6581234567".into()));
        assert_eq!(normalize("+39 06 1234 5678", "US", Valid), Ok("+390612345678".into()));
        assert_eq!(normalize("8 (912) 345-67-89", "RU", Valid), Ok("+79123456789".into()));
    }

    #[test]
    fn israeli_mobile() {
        assert_eq!(normalize("050-123-4567", "IL", Possible), Ok("+972501234567".into()));
        // 050-1 is an unallocated block in the bundled metadata, so the strict check refuses it...
        assert_eq!(normalize("050-123-4567", "IL", Valid), nd("not a valid number for IL"));
        // ...while an allocated one passes, with the maqaf and RTL marks a Hebrew keyboard adds.
        assert_eq!(normalize("\u{200F}050\u{05BE}234\u{05BE}5678", "il", Valid), Ok("+972502345678".into()));
    }

    #[test]
    fn double_zero_prefix_is_international() {
        for region in ["US", "GB", "IL", "SG"] {
            assert_eq!(normalize("00 44 20 7946 0958", region, Valid), Ok("+442079460958".into()), "{region}");
        }
        assert_eq!(normalize("0011 44 20 7946 0958", "AU", Valid), Ok("+442079460958".into()));
        assert_eq!(normalize("011 44 20 7946 0958", "US", Valid), Ok("+442079460958".into()));
        assert_eq!(normalize("001 44 20 7946 0958", "SG", Valid), Ok("+442079460958".into()));
        assert_eq!(normalize("00 999 1234", "SG", Valid), nd("unknown country calling code"));
    }

    #[test]
    fn letters_and_extensions() {
        assert_eq!(normalize("1-800-FLOWERS", "US", Valid), Ok("+18003569377".into()));
        assert_eq!(normalize("212 555 0101 ext 12", "US", Valid), Ok("+12125550101".into()));
        assert_eq!(normalize("212 555 0101 #12", "US", Valid), Ok("+12125550101".into()));
        assert_eq!(normalize("John Smith", "US", Possible), nd("no phone number found"));
    }

    #[test]
    fn refusals() {
        assert_eq!(normalize("  \u{2014} ", "US", Valid), Err(PhoneError::Empty));
        assert_eq!(normalize("<script>", "US", Valid), Err(PhoneError::Pattern));
        assert_eq!(normalize(&"1".repeat(31), "US", Valid), Err(PhoneError::Pattern));
        assert_eq!(normalize("1", "US", Valid), Err(PhoneError::Pattern));
        assert_eq!(normalize("+999 123", "US", Possible), nd("unknown country calling code"));
        assert_eq!(normalize("+44 20 7946", "US", Possible), nd("too short for GB"));
        assert_eq!(normalize("+44 20 7946 0958 1234", "US", Possible), nd("too long for GB"));
        assert_eq!(normalize("212 555 0101", "XX", Valid), Err(PhoneError::BadRegion("XX".into())));
        assert_eq!(normalize("+12125550101", "USA", Valid), Err(PhoneError::BadRegion("USA".into())));
        let msg = normalize("+44 20 7946", "US", Valid).unwrap_err().to_string();
        assert!(!msg.contains("7946"), "{msg}");
        assert_eq!(to_e164(&"1".repeat(500), "US", Possible), nd("too long"));
    }

    #[test]
    fn regions() {
        for ok in ["US", "GB", "IL", "SG", "us", "Ru"] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in ["", "U", "USA", "ZZ", "001", "1", "U\u{00C9}"] {
            assert!(!valid_region(bad), "{bad}");
        }
    }

    #[test]
    fn never_panics_on_generated_input() {
        // Deterministic xorshift over an alphabet weighted towards what phone parsing finds interesting.
        let alphabet: Vec<char> =
            "0123456789+ ()-.#,x ext 00 +1+44+972 abcXYZ\u{2011}\u{00A0}\u{FF10}\u{0661}\u{200F}é😀<>\t"
                .chars()
                .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 34) as usize;
            let s: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let curated = curate(&s);
            assert_eq!(curate(&curated), curated, "curate is idempotent");
            for strictness in [Valid, Possible] {
                if let Ok(e164) = normalize(&s, "US", strictness) {
                    assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
                    assert!((4..=16).contains(&e164.len()), "{e164}");
                }
            }
        }
    }
}
