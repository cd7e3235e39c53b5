use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn rec(phone1: &str, phone2: &[&str]) -> NewRecord {
    NewRecord {
        phone1: phone1.into(),
        phone2: phone2.iter().map(|p| p.to_string()).collect(),
        account: Some("A1".into()),
        first_name: None,
        last_name: None,
        email: None,
        time_zone: None,
        fields: BTreeMap::new(),
    }
}

fn phones(r: &NewRecord) -> Vec<&str> {
    r.phones().collect()
}

#[test]
fn cell_list_parses_numbers_prefixes_and_comments() {
    let list = CellList::parse(
        "# mobiles\n\
         +44 7700 900000\n\
         \n\
         +447*   # UK mobiles\n\
         \t(555) 010-0000 \n\
         1555*\n\
         +447*\n\
         12345678901234567890\n",
    )
    .unwrap();
    assert_eq!(list.len(), 5);
    assert!(!list.is_empty());
    assert!(list.contains("+447700900000"));
    assert!(list.contains("+447999999999"));
    assert!(!list.contains("+442079460000"));
    assert!(!list.contains("07700900000"), "prefixes match the normalised text");
    assert!(list.contains("5550100000"));
    assert!(list.contains("15550001"));
    assert!(list.contains("12345678901234567890"));
    assert!(!list.contains("12345678901234567891"));
    assert!(CellList::empty().is_empty() && !CellList::empty().contains("5550100"));
}

#[test]
fn cell_list_errors_name_the_line() {
    let e = CellList::parse("5550100\n\nnot a number\n").unwrap_err();
    assert!(e.starts_with("line 3: "), "{e}");
    for bad in ["*", "+*", "44*7", "4+4*", &format!("{}*", "1".repeat(20)), "1"] {
        let e = CellList::parse(bad).expect_err(bad);
        assert!(e.starts_with("line 1: "), "{e}");
    }
    assert!(CellList::parse("44*7").unwrap_err().contains("'*'"));
    assert!(CellList::parse("4+4*").unwrap_err().contains("prefix"));
    assert!(CellList::parse("  # only a comment\n\n").unwrap().is_empty());
}

#[test]
fn phone_codes_are_exact_and_compact() {
    assert_eq!(phone_code("5550100"), Some(15550100));
    assert_eq!(phone_code("+5550100"), Some(25550100));
    assert_ne!(phone_code("05550100"), phone_code("5550100"));
    assert_ne!(phone_code("005550100"), phone_code("05550100"));
    assert_ne!(phone_code("+15550100"), phone_code("15550100"));
    assert_eq!(phone_code(&format!("+{}", "9".repeat(18))), Some(2_999_999_999_999_999_999));
    assert_eq!(phone_code(&"1".repeat(19)), None);
    for bad in ["", "+", "12a", "++1", "1+2"] {
        assert_eq!(phone_code(bad), None, "{bad:?}");
    }
}

#[test]
fn rejection_names() {
    assert_eq!(Rejection::Duplicate.as_str(), "duplicate");
    assert_eq!(Rejection::CellPhone.to_string(), "cell_phone");
}

#[test]
fn duplicates_across_and_within_records_are_removed() {
    let cells = CellList::empty();
    let mut b = Builder::new(&cells);
    assert_eq!(phones(&b.admit(rec("5550100", &["5550101"])).unwrap()), ["5550100", "5550101"]);
    let r = b.admit(rec("5550101", &["5550102", "5550102", "5550100", "5550103"])).unwrap();
    assert_eq!(phones(&r), ["5550102", "5550103"]);
    assert_eq!(r.account.as_deref(), Some("A1"), "the rest of the record is kept");
    assert_eq!(b.admit(rec("5550103", &["5550100"])), Err(Rejection::Duplicate));
    assert_eq!(b.seen(), 4);
}

#[test]
fn remembered_numbers_count_as_seen() {
    let cells = CellList::empty();
    let mut b = Builder::new(&cells);
    b.remember("+15550100");
    b.remember("+15550100");
    assert_eq!(b.seen(), 1);
    assert_eq!(b.admit(rec("+15550100", &[])), Err(Rejection::Duplicate));
    assert_eq!(phones(&b.admit(rec("15550100", &[])).unwrap()), ["15550100"]);
}

#[test]
fn cell_numbers_are_removed_and_win_over_duplicates() {
    let cells = CellList::parse("+447*\n5550100\n").unwrap();
    let mut b = Builder::new(&cells);
    b.remember("5550100");
    b.remember("+447700900000");
    assert_eq!(b.admit(rec("5550100", &[])), Err(Rejection::CellPhone));
    assert_eq!(b.admit(rec("+447700900000", &["5550100"])), Err(Rejection::CellPhone));
    let r = b.admit(rec("+447700900001", &["+442079460000", "+447700900002"])).unwrap();
    assert_eq!(phones(&r), ["+442079460000"]);
    assert_eq!(b.admit(rec("+442079460000", &["+447700900003"])), Err(Rejection::Duplicate));
}

#[test]
fn long_numbers_use_the_fallback_set() {
    let cells = CellList::empty();
    let mut b = Builder::new(&cells);
    let long = "+12345678901234567890";
    assert_eq!(phone_code(long), None);
    assert!(b.admit(rec(long, &["+12345678901234567891"])).is_ok());
    assert_eq!(b.admit(rec(long, &[])), Err(Rejection::Duplicate));
    assert_eq!(b.seen(), 2);
}

/// A mix of short and too-long-for-a-code numbers, some under `+44 7`.
const POOL: [&str; 10] = [
    "5550100",
    "05550100",
    "+5550100",
    "+447700900000",
    "+447700900001",
    "+442079460000",
    "12345678901234567890",
    "+1234567890123456789",
    "1234567890123456789",
    "99",
];

fn arb_phone() -> impl Strategy<Value = String> {
    prop::sample::select(&POOL[..]).prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scrubbing_matches_the_rules(
        cell_numbers in prop::collection::btree_set(arb_phone(), 0..3),
        uk_mobiles in any::<bool>(),
        remembered in prop::collection::vec(arb_phone(), 0..3),
        records in prop::collection::vec((arb_phone(), prop::collection::vec(arb_phone(), 0..5)), 0..12),
    ) {
        let mut text: String = cell_numbers.iter().map(|p| format!("{p}\n")).collect();
        if uk_mobiles {
            text.push_str("+447*\n");
        }
        let cells = CellList::parse(&text).unwrap();
        let is_cell = |p: &str| cell_numbers.contains(p) || (uk_mobiles && p.starts_with("+447"));
        let mut b = Builder::new(&cells);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for p in &remembered {
            b.remember(p);
            seen.insert(p.clone());
        }
        for (p1, p2) in records {
            let before = seen.clone();
            let input = rec(&p1, &p2.iter().map(String::as_str).collect::<Vec<_>>());
            match b.admit(input.clone()) {
                Ok(r) => {
                    prop_assert_eq!(r.account.as_deref(), Some("A1"));
                    let mut want = Vec::new();
                    for p in input.phones() {
                        if !is_cell(p) && !before.contains(p) && !want.contains(&p) {
                            want.push(p);
                        }
                    }
                    prop_assert_eq!(phones(&r), want);
                    for p in r.phones() {
                        prop_assert!(seen.insert(p.to_string()), "{} admitted twice", p);
                    }
                }
                Err(why) => {
                    for (i, p) in input.phones().enumerate() {
                        let dup = before.contains(p) || input.phones().take(i).any(|q| q == p);
                        prop_assert!(is_cell(p) || dup, "{} rejected but neither cell nor duplicate", p);
                    }
                    let want = if is_cell(&p1) { Rejection::CellPhone } else { Rejection::Duplicate };
                    prop_assert_eq!(why, want);
                }
            }
            prop_assert_eq!(b.seen(), seen.len());
        }
    }
}
