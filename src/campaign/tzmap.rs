//! Phone number -> the callee's possible IANA time zones, by longest-prefix
//! match over libphonenumber's timezone metadata (the table lives in the
//! generated `tzmap_data.rs`; `scripts/gen-tzmap.py` rebuilds it).
//!
//! A prefix may map to several zones (+1 with an unknown area code, +7,
//! most of +61): callers must treat the number as being in all of them.

use jiff::tz::TimeZone;

#[path = "tzmap_data.rs"]
mod data;

/// The zone names for an E.164 number such as `+12125550100`.
///
/// Without a leading `+` the country is unknown, so nothing is guessed and
/// the answer is empty; so is a number whose prefix the table lacks. Common
/// separators (spaces, `-`, `.`, parentheses) after the `+` are ignored;
/// any other character makes the number unusable.
pub fn zone_names(phone: &str) -> &'static [&'static str] {
    let Some(rest) = phone.trim().strip_prefix('+') else {
        return &[];
    };
    let mut digits = [0u8; data::LONGEST_PREFIX];
    let mut len = 0;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => {
                if len < digits.len() {
                    digits[len] = b;
                    len += 1;
                }
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return &[],
        }
    }
    // Only ASCII digits were copied in, so this cannot fail.
    let digits = std::str::from_utf8(&digits[..len]).unwrap_or_default();
    (1..=len)
        .rev()
        .find_map(|n| {
            let key = &digits[..n];
            data::PREFIXES.binary_search_by(|(p, _)| (*p).cmp(key)).ok().map(|i| data::PREFIXES[i].1)
        })
        .unwrap_or(&[])
}

/// [`zone_names`] resolved against the time zone database. Names the local
/// database does not know (an old tzdata) are skipped rather than failing
/// the whole lookup.
pub fn zones_for(phone: &str) -> Vec<TimeZone> {
    zone_names(phone).iter().filter_map(|name| TimeZone::get(name).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(phone: &str) -> Vec<&'static str> {
        zone_names(phone).to_vec()
    }

    #[test]
    fn known_prefixes_map_to_their_zones() {
        assert_eq!(names("+12125550100"), ["America/New_York"]);
        assert_eq!(names("+14155550100"), ["America/Los_Angeles"]);
        assert!(names("+442079460000").contains(&"Europe/London"));
        assert_eq!(names("+442079460000"), ["Europe/London"]);
        assert_eq!(names("+972501234567"), ["Asia/Jerusalem"]);
        assert_eq!(names("+74951234567"), ["Europe/Moscow"]);
    }

    #[test]
    fn separators_are_ignored() {
        assert_eq!(names("+1 (212) 555-0100"), ["America/New_York"]);
        assert_eq!(names(" +44 20 7946 0000 "), ["Europe/London"]);
    }

    #[test]
    fn ambiguous_prefixes_give_every_zone() {
        let us = names("+1999");
        assert!(us.contains(&"America/New_York") && us.contains(&"Pacific/Honolulu"), "{us:?}");
        let ru = names("+7");
        assert!(ru.len() > 5 && ru.contains(&"Asia/Vladivostok"), "{ru:?}");
    }

    #[test]
    fn unknown_or_national_numbers_give_nothing() {
        assert!(names("+999123456").is_empty());
        assert!(names("+").is_empty());
        assert!(names("0201234567").is_empty());
        assert!(names("12125550100").is_empty());
        assert!(names("+1212x555").is_empty());
        assert!(zones_for("0201234567").is_empty());
    }

    #[test]
    fn zones_resolve() {
        let zones = zones_for("+12125550100");
        assert_eq!(zones.len(), 1);
        assert_eq!(zones[0].iana_name(), Some("America/New_York"));
    }

    #[test]
    fn table_is_sorted_unique_and_known_to_the_tzdb() {
        for w in data::PREFIXES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} !< {}", w[0].0, w[1].0);
        }
        let mut missing: Vec<&str> = data::PREFIXES
            .iter()
            .flat_map(|(_, zones)| zones.iter().copied())
            .filter(|z| TimeZone::get(z).is_err())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        assert!(missing.is_empty(), "zones unknown to the tzdb: {missing:?}");
        for (p, zones) in data::PREFIXES {
            assert!(!p.is_empty() && p.len() <= data::LONGEST_PREFIX && p.bytes().all(|b| b.is_ascii_digit()));
            assert!(!zones.is_empty() && !zones.contains(&"Etc/Unknown"), "{p}");
        }
    }
}
