use super::*;
use serde_json::json;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn err(v: serde_json::Value) -> (String, String) {
    let e = NewRecord::from_json(&v).expect_err("should be rejected");
    (e.field, e.message)
}

#[test]
fn phones_are_normalised() {
    assert_eq!(normalize_phone("+1 (555) 123-4567").unwrap(), "+15551234567");
    assert_eq!(normalize_phone(" 020.7946.0000 ").unwrap(), "02079460000");
    assert_eq!(normalize_phone("tel:+44-20-7946-0000").unwrap(), "+442079460000");
    assert_eq!(normalize_phone("TEL:911").unwrap(), "911");
    assert_eq!(normalize_phone("(+1) 555 0100").unwrap(), "+15550100");
    assert_eq!(normalize_phone("12").unwrap(), "12");
    assert_eq!(normalize_phone(&"9".repeat(20)).unwrap(), "9".repeat(20));
}

#[test]
fn bad_phones_are_refused() {
    for bad in ["", "  ", "1", "+", "()", "555-CALL-NOW", "1+2", "++1", "tel:", "123;ext=4", "١٢٣", "tel€1"] {
        assert!(normalize_phone(bad).is_err(), "{bad:?} accepted");
    }
    assert!(normalize_phone(&"1".repeat(21)).is_err());
}

#[test]
fn json_record_with_everything() {
    let r = NewRecord::from_json(&json!({
        "phone1": "+1 555 0100",
        "phone2": ["555-0101", 5550102u64],
        "account": "A-1",
        "First_Name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "time_zone": "Europe/London",
        "Balance": 12.5,
        "vip": true,
        "notes": "",
        "region": null,
    }))
    .unwrap();
    assert_eq!(r.phone1, "+15550100");
    assert_eq!(r.phone2, ["5550101", "5550102"]);
    assert_eq!(r.account.as_deref(), Some("A-1"));
    assert_eq!(r.first_name.as_deref(), Some("Ada"));
    assert_eq!(r.time_zone.as_deref(), Some("Europe/London"));
    assert_eq!(r.fields.len(), 2, "{:?}", r.fields);
    assert_eq!(r.field("balance"), Some("12.5"));
    assert_eq!(r.field("vip"), Some("true"));
    assert_eq!(r.field("notes"), None);
    assert_eq!(r.field("phone1"), Some("+15550100"));
    assert_eq!(r.field("last_name"), Some("Lovelace"));
    assert_eq!(r.phones().collect::<Vec<_>>(), ["+15550100", "5550101", "5550102"]);
}

#[test]
fn json_phone1_as_number_and_required() {
    assert_eq!(NewRecord::from_json(&json!({"phone1": 5550100})).unwrap().phone1, "5550100");
    assert_eq!(err(json!({"account": "x"})), ("phone1".into(), "is required".into()));
    assert_eq!(err(json!({"phone1": null})).0, "phone1");
    assert_eq!(err(json!({"phone1": 5.5e9})).0, "phone1");
    assert_eq!(err(json!({"phone1": -5550100})).0, "phone1");
    assert_eq!(err(json!({"phone1": ["1"]})).0, "phone1");
    assert_eq!(err(json!({"phone1": "x"})).0, "phone1");
    assert_eq!(err(json!(["phone1"])).0, "record");
}

#[test]
fn json_phone2_rules() {
    assert_eq!(err(json!({"phone1": "5550100", "phone2": "5550101"})), ("phone2".into(), "must be an array".into()));
    assert_eq!(err(json!({"phone1": "5550100", "phone2": ["5550101", "5550102", "5550103", "bad"]})).0, "phone2[3]");
    assert_eq!(err(json!({"phone1": "5550100", "phone2": [true]})).0, "phone2[0]");
    let many: Vec<String> = (0..=MAX_PHONE2).map(|i| format!("55501{i:02}")).collect();
    assert_eq!(err(json!({"phone1": "5550100", "phone2": many})).0, "phone2");
    let r = NewRecord::from_json(&json!({"phone1": "5550100", "phone2": &many[..MAX_PHONE2]})).unwrap();
    assert_eq!(r.phone2.len(), MAX_PHONE2);
    assert!(NewRecord::from_json(&json!({"phone1": "5550100", "phone2": null})).unwrap().phone2.is_empty());
}

#[test]
fn json_field_rules() {
    let base = |k: &str, v: serde_json::Value| {
        let mut m = serde_json::Map::new();
        m.insert("phone1".into(), json!("5550100"));
        m.insert(k.into(), v);
        serde_json::Value::Object(m)
    };
    assert_eq!(err(base("tags", json!(["a"]))).0, "tags");
    assert_eq!(err(base("meta", json!({"a": 1}))).0, "meta");
    assert_eq!(err(base("bad-name", json!("x"))).0, "bad-name");
    assert_eq!(err(base("", json!("x"))).0, "");
    assert_eq!(err(base(&"a".repeat(65), json!("x"))).0, "a".repeat(65));
    assert!(NewRecord::from_json(&base(&"a".repeat(64), json!("x"))).is_ok());
    assert_eq!(err(base("note", json!("é".repeat(1025)))).0, "note");
    assert!(NewRecord::from_json(&base("note", json!("é".repeat(1024)))).is_ok());
    assert_eq!(err(base("first_name", json!(7))).0, "first_name");
    // Which of the two is "the duplicate" depends on the map's key order.
    let (field, message) = err(base("PHONE1", json!("5550101")));
    assert!(field.eq_ignore_ascii_case("phone1") && message.contains("duplicate"), "{field}: {message}");
}

#[test]
fn json_round_trips_through_serde() {
    let r = NewRecord::from_json(&json!({"phone1": "5550100", "x": "1"})).unwrap();
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("phone2"), "{text}");
    assert_eq!(serde_json::from_str::<NewRecord>(&text).unwrap(), r);
}

#[test]
fn csv_header_aliases_and_numbered_phones() {
    let header = strings(&[" Phone ", "phone_2", "Phone3", "First Name", "Balance", ""]);
    let row = strings(&["555 0100", "5550101; 5550102", "5550103", " Ada ", "10", "ignored"]);
    let r = NewRecord::from_csv(&header, &row).unwrap();
    assert_eq!(r.phone1, "5550100");
    assert_eq!(r.phone2, ["5550101", "5550102", "5550103"]);
    assert_eq!(r.first_name.as_deref(), Some("Ada"));
    assert_eq!(r.field("balance"), Some("10"));
    assert_eq!(r.fields.len(), 1);
}

#[test]
fn csv_empty_cells_are_absent() {
    let header = strings(&["phone1", "phone2", "last_name", "zip"]);
    let r = NewRecord::from_csv(&header, &strings(&["5550100", " ", "", ""])).unwrap();
    assert!(r.phone2.is_empty() && r.last_name.is_none() && r.fields.is_empty());
    let e = NewRecord::from_csv(&header, &strings(&["", "5550101", "", ""])).unwrap_err();
    assert_eq!((e.field.as_str(), e.message.as_str()), ("phone1", "is required"));
}

#[test]
fn csv_row_errors_name_the_column() {
    let header = strings(&["phone", "phone_7", "x"]);
    let e = NewRecord::from_csv(&header, &strings(&["5550100", "abc", ""])).unwrap_err();
    assert_eq!(e.field, "phone_7");
    let e = NewRecord::from_csv(&header, &strings(&["5550100", ""])).unwrap_err();
    assert_eq!(e.field, "row");
    let e = NewRecord::from_csv(&header, &strings(&["5550100", "", &"x".repeat(1025)])).unwrap_err();
    assert_eq!(e.field, "x");
    let many = vec!["5550101"; MAX_PHONE2 + 1].join(",");
    let e = NewRecord::from_csv(&header, &strings(&["5550100", &many, ""])).unwrap_err();
    assert_eq!(e.field, "phone_7");
}

#[test]
fn csv_header_problems() {
    let bad = |h: &[&str]| Columns::parse(&strings(h)).expect_err("header accepted");
    assert!(bad(&["name", "email"]).contains("no phone1"));
    assert!(bad(&["phone1", "phone"]).contains("duplicate"));
    assert!(bad(&["phone2", "phone_2", "phone1"]).contains("duplicate"));
    assert!(bad(&["phone1", "Zip", "zip"]).contains("duplicate"));
    assert!(bad(&["phone1", "zip-code"]).contains("column 2"));
    assert!(bad(&[]).contains("no phone1"));
    // Numbered columns outside 2..=31 are ordinary fields.
    let c = Columns::parse(&strings(&["phone1", "phone32", "phone_02", "", ""])).unwrap();
    assert_eq!(c.len(), 5);
    let r = c.record(&strings(&["5550100", "a", "b", "c", "d"])).unwrap();
    assert_eq!(r.field("phone32"), Some("a"));
    assert_eq!(r.field("phone_02"), Some("b"));
    assert!(r.phone2.is_empty());
}
