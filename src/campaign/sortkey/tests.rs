use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn rec(fields: &[(&str, &str)]) -> NewRecord {
    NewRecord {
        phone1: "5550100".into(),
        phone2: Vec::new(),
        account: None,
        first_name: None,
        last_name: None,
        email: None,
        time_zone: None,
        fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn spec(s: &str) -> SortSpec {
    s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Sorts `values` of field `v` under `s` by key and checks compare agrees.
fn sorted(s: &str, values: &[Option<&str>]) -> Vec<Option<String>> {
    let s = spec(s);
    let recs: Vec<NewRecord> = values.iter().map(|v| v.map_or_else(|| rec(&[]), |v| rec(&[("v", v)]))).collect();
    let mut by_key: Vec<usize> = (0..recs.len()).collect();
    by_key.sort_by_key(|&i| key(&s, &recs[i], i as u64));
    let mut by_cmp: Vec<usize> = (0..recs.len()).collect();
    by_cmp.sort_by(|&i, &j| compare(&s, &recs[i], i as u64, &recs[j], j as u64));
    assert_eq!(by_key, by_cmp);
    by_key.into_iter().map(|i| recs[i].field("v").filter(|v| !v.is_empty()).map(str::to_string)).collect()
}

#[test]
fn parses_specs() {
    assert_eq!(spec(""), SortSpec::UploadOrder);
    assert_eq!(spec(" Upload "), SortSpec::UploadOrder);
    assert_eq!(spec("upload_order"), SortSpec::UploadOrder);
    assert_eq!(
        spec("Balance DESC,last_name asc , account"),
        SortSpec::Fields(vec![
            ("balance".into(), Direction::Desc),
            ("last_name".into(), Direction::Asc),
            ("account".into(), Direction::Asc),
        ])
    );
    assert_eq!(spec("Balance DESC,last_name asc , account").to_string(), "balance desc, last_name asc, account asc");
    assert_eq!(spec("upload").to_string(), "upload");
    let s = spec("a desc, b");
    assert_eq!(spec(&s.to_string()), s);
}

#[test]
fn refuses_bad_specs() {
    let nine = (0..9).map(|i| format!("f{i}")).collect::<Vec<_>>().join(",");
    let eight = (0..8).map(|i| format!("f{i}")).collect::<Vec<_>>().join(",");
    assert!(eight.parse::<SortSpec>().is_ok());
    for bad in [
        "a,,b",
        "a,",
        ",a",
        "a sideways",
        "a desc b",
        "a b",
        "bad-name",
        "a, A desc",
        "upload desc",
        "x, upload",
        &nine,
    ] {
        let e = bad.parse::<SortSpec>().expect_err(bad);
        assert!(!e.is_empty());
    }
    assert!(format!("{},x", "a".repeat(65)).parse::<SortSpec>().is_err());
    assert!("a b".parse::<SortSpec>().unwrap_err().contains("asc or desc"));
    assert!("a, A".parse::<SortSpec>().unwrap_err().contains("twice"));
}

#[test]
fn numbers_then_text_then_missing_ascending() {
    let got = sorted("v", &[None, Some("b"), Some("10"), Some(""), Some("9.5"), Some("-3"), Some("a"), Some("1e3")]);
    let want = [Some("-3"), Some("9.5"), Some("10"), Some("1e3"), Some("a"), Some("b"), None, None];
    assert_eq!(got, want.map(|v| v.map(str::to_string)));
}

#[test]
fn desc_reverses_within_classes_and_keeps_missing_last() {
    let got =
        sorted("v desc", &[None, Some("b"), Some("10"), Some(""), Some("9.5"), Some("-3"), Some("a"), Some("1e3")]);
    let want = [Some("1e3"), Some("10"), Some("9.5"), Some("-3"), Some("b"), Some("a"), None, None];
    assert_eq!(got, want.map(|v| v.map(str::to_string)));
}

#[test]
fn equal_numbers_fall_through_to_upload_order() {
    let s = spec("v desc");
    let (a, b, c) = (rec(&[("v", "10")]), rec(&[("v", " 1e1 ")]), rec(&[("v", "-0")]));
    assert_eq!(compare(&s, &a, 2, &b, 1), Ordering::Greater);
    assert_eq!(key(&s, &a, 0)[..9], key(&s, &b, 0)[..9]);
    assert_eq!(key(&s, &c, 7), key(&s, &rec(&[("v", "0.0")]), 7));
    assert!(key(&s, &a, 2) > key(&s, &b, 1));
}

#[test]
fn text_prefixes_and_nul_bytes() {
    let got = sorted("v", &[Some("ab"), Some("a\0"), Some("a"), Some("a\0\0"), Some("a\u{1}"), Some("é"), Some("z")]);
    let want = ["a", "a\0", "a\0\0", "a\u{1}", "ab", "z", "é"];
    assert_eq!(got, want.map(|v| Some(v.to_string())));
    let got = sorted("v desc", &[Some("ab"), Some("a\0"), Some("a"), Some("a\0\0")]);
    assert_eq!(got, ["ab", "a\0\0", "a\0", "a"].map(|v| Some(v.to_string())));
}

#[test]
fn nan_and_infinity_are_text() {
    let got = sorted("v", &[Some("inf"), Some("NaN"), Some("1e400"), Some("5")]);
    assert_eq!(got, ["5", "1e400", "NaN", "inf"].map(|v| Some(v.to_string())));
}

#[test]
fn upload_order_key_is_the_sequence() {
    let r = rec(&[("v", "x")]);
    assert_eq!(key(&SortSpec::UploadOrder, &r, 258), 258u64.to_be_bytes());
    assert_eq!(compare(&SortSpec::UploadOrder, &r, 3, &r, 2), Ordering::Greater);
}

#[test]
fn known_fields_sort_too() {
    let s = spec("last_name, phone1 desc");
    let mut a = rec(&[]);
    a.last_name = Some("Smith".into());
    let mut b = a.clone();
    b.phone1 = "5550199".into();
    assert_eq!(compare(&s, &a, 0, &b, 1), Ordering::Greater);
    assert!(key(&s, &a, 0) > key(&s, &b, 1));
}

const FIELDS: [&str; 3] = ["a", "b", "last_name"];
const VALUES: &[&str] = &[
    "", "10", "9.5", "-3", "1e3", "1000", "-0", "0", " 7 ", "x", "x\0", "x\0y", "xy", "X", "é", "日本", "a\u{0}", "inf",
];

fn arb_spec() -> impl Strategy<Value = SortSpec> {
    (Just(FIELDS.to_vec()).prop_shuffle(), 1usize..=3, prop::collection::vec(any::<bool>(), 3)).prop_map(
        |(names, n, desc)| {
            SortSpec::Fields(
                names[..n]
                    .iter()
                    .zip(desc)
                    .map(|(f, d)| (f.to_string(), if d { Direction::Desc } else { Direction::Asc }))
                    .collect(),
            )
        },
    )
}

fn arb_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => prop::sample::select(VALUES).prop_map(|v| Some(v.to_string())),
        1 => Just(None),
        1 => "[a-c\\x00é]{0,3}".prop_map(Some),
        1 => (-1000i32..1000).prop_map(|n| Some(format!("{}", n as f64 / 8.0))),
    ]
}

fn arb_record() -> impl Strategy<Value = (NewRecord, u64)> {
    (prop::collection::vec(arb_value(), 3), 0u64..4).prop_map(|(vals, seq)| {
        let mut r = rec(&[]);
        let mut fields = BTreeMap::new();
        for (name, v) in FIELDS.iter().zip(vals) {
            match (*name, v) {
                ("last_name", v) => r.last_name = v,
                (_, Some(v)) => {
                    fields.insert(name.to_string(), v);
                }
                (_, None) => {}
            }
        }
        r.fields = fields;
        (r, seq)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn key_order_is_compare_order(s in arb_spec(), (a, sa) in arb_record(), (b, sb) in arb_record()) {
        let by_key = key(&s, &a, sa).cmp(&key(&s, &b, sb));
        prop_assert_eq!(by_key, compare(&s, &a, sa, &b, sb));
        prop_assert_eq!(compare(&s, &b, sb, &a, sa), by_key.reverse());
    }

    #[test]
    fn sorting_by_key_is_sorting_by_compare(s in arb_spec(), recs in prop::collection::vec(arb_record(), 0..40)) {
        // Distinct sequences, as in a real upload.
        let recs: Vec<(NewRecord, u64)> = recs.into_iter().enumerate().map(|(i, (r, _))| (r, i as u64)).collect();
        let mut by_key = recs.clone();
        by_key.sort_by_cached_key(|(r, seq)| key(&s, r, *seq));
        let mut by_cmp = recs;
        by_cmp.sort_by(|(a, sa), (b, sb)| compare(&s, a, *sa, b, *sb));
        prop_assert_eq!(by_key, by_cmp);
    }
}
