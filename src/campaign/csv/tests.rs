use super::*;

fn parse_chunks(chunks: &[&[u8]]) -> Result<(Rows, u64), CsvError> {
    let mut p = CsvRecords::new();
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out)?;
    }
    p.finish(&mut out)?;
    Ok((out, p.rows_seen()))
}

fn parse(input: &[u8]) -> Result<Rows, CsvError> {
    parse_chunks(&[input]).map(|(rows, _)| rows)
}

fn ok(rows: &[Result<(u64, NewRecord), RowError>]) -> Vec<&NewRecord> {
    rows.iter().map(|r| &r.as_ref().unwrap_or_else(|e| panic!("{e}")).1).collect()
}

fn header_err(input: &[u8]) -> String {
    match parse(input) {
        Err(CsvError::Header(m)) => m,
        Ok(rows) => panic!("header accepted: {rows:?}"),
    }
}

/// BOM, CRLF, blank lines, quoted commas, doubled quotes, a newline in
/// quotes, multi-byte UTF-8, a bad row, and no final line end.
const TRICKY: &[u8] = "\u{feff}Phone,First Name,notes\r\n\
    \r\n\
    \"+1 (555) 010-0000\",Zoë,\"said \"\"hi\"\", then, left\"\r\n\
    5550101,\"Multi\nline\",日本語\n\
    \n\
    5550102,too,many,fields\n\
    \"\"\n\
    5550103,\"\",\"\"\"\"\r\n\
    5550104,Last,no newline"
    .as_bytes();

#[test]
fn tricky_input_in_one_feed() {
    let rows = parse(TRICKY).unwrap();
    assert_eq!(rows.len(), 5);
    let r = rows[0].as_ref().unwrap();
    assert_eq!(r.0, 1);
    assert_eq!(r.1.phone1, "+15550100000");
    assert_eq!(r.1.first_name.as_deref(), Some("Zoë"));
    assert_eq!(r.1.field("notes"), Some("said \"hi\", then, left"));
    let r = rows[1].as_ref().unwrap();
    assert_eq!((r.0, r.1.first_name.as_deref(), r.1.field("notes")), (2, Some("Multi\nline"), Some("日本語")));
    let e = rows[2].as_ref().unwrap_err();
    assert_eq!((e.row, e.field.as_str()), (3, "row"));
    assert!(e.message.contains("4 fields"), "{e}");
    let r = rows[3].as_ref().unwrap();
    assert_eq!((r.0, r.1.first_name.as_deref(), r.1.field("notes")), (4, None, Some("\"")));
    let r = rows[4].as_ref().unwrap();
    assert_eq!((r.0, r.1.phone1.as_str(), r.1.field("notes")), (5, "5550104", Some("no newline")));
}

#[test]
fn every_split_point_gives_the_same_rows() {
    let (whole, seen) = parse_chunks(&[TRICKY]).unwrap();
    assert_eq!(seen, 5);
    for i in 0..=TRICKY.len() {
        let (a, b) = TRICKY.split_at(i);
        assert_eq!(parse_chunks(&[a, b]).unwrap(), (whole.clone(), seen), "split at {i}");
        for j in i..=TRICKY.len() {
            let (b, c) = TRICKY[i..].split_at(j - i);
            assert_eq!(parse_chunks(&[a, b, &[], c]).unwrap().0, whole, "split at {i} and {j}");
        }
    }
    let bytes: Vec<&[u8]> = TRICKY.chunks(1).collect();
    assert_eq!(parse_chunks(&bytes).unwrap().0, whole);
}

#[test]
fn ten_thousand_rows_in_seven_byte_chunks() {
    let mut input = String::from("phone1,last_name,balance\n");
    for i in 0..10_000 {
        input.push_str(&format!("555{i:07},\"Name, {i}\",{}\r\n", i % 97));
    }
    let mut p = CsvRecords::new();
    let mut out = Vec::new();
    let mut total = 0;
    for c in input.as_bytes().chunks(7) {
        p.feed(c, &mut out).unwrap();
        // Rows come out as they complete: the caller drains as it goes.
        assert!(out.len() <= 1);
        for (i, r) in out.drain(..).enumerate() {
            let (n, r) = r.unwrap();
            assert_eq!(n, total + i as u64 + 1);
            assert_eq!(r.phone1, format!("555{:07}", n - 1));
            assert_eq!(r.last_name, Some(format!("Name, {}", n - 1)));
        }
        total = p.rows_seen();
    }
    p.finish(&mut out).unwrap();
    assert!(out.is_empty());
    assert_eq!(p.rows_seen(), 10_000);
}

#[test]
fn header_problems_are_fatal() {
    assert!(header_err(b"").contains("no header"));
    assert!(header_err(b"\xef\xbb\xbf\r\n\n").contains("no header"));
    assert!(header_err(b"name,email\n5550100,a@b\n").contains("no phone1"));
    assert!(header_err(b"phone,Phone1\n").contains("duplicate"));
    assert!(header_err(b"phone1,bad name!\n").contains("column 2"));
    let wide = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    assert!(header_err(format!("phone1,{wide}\n").as_bytes()).contains("more than 100"));
    let exactly = (1..MAX_COLUMNS).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    assert!(parse(format!("phone1,{exactly}\n").as_bytes()).unwrap().is_empty());
    assert!(header_err(b"phone1,\xff\n").contains("UTF-8"));
    assert!(header_err(format!("phone1,{}\n", "x".repeat(MAX_FIELD + 1)).as_bytes()).contains("longer"));
}

#[test]
fn the_error_sticks() {
    let mut p = CsvRecords::new();
    let mut out = Vec::new();
    assert!(p.feed(b"a,b\n5550100,x\n", &mut out).is_err());
    assert!(p.feed(b"5550100,x\n", &mut out).is_err());
    assert!(p.finish(&mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn long_fields_are_capped_and_the_row_refused() {
    let long = "y".repeat(1_000_000);
    let input = format!("phone1,note\n5550100,{long}\n5550101,\"{}\"\n5550102,ok\n", "z".repeat(MAX_FIELD));
    let mut p = CsvRecords::new();
    let mut out = Vec::new();
    for c in input.as_bytes().chunks(4000) {
        p.feed(c, &mut out).unwrap();
        assert!(p.field.capacity() <= 2 * MAX_FIELD);
    }
    p.finish(&mut out).unwrap();
    let e = out[0].as_ref().unwrap_err();
    assert_eq!((e.row, e.field.as_str()), (1, "note"));
    assert!(e.message.contains("4096"));
    // Exactly MAX_FIELD bytes is a field; the value limit is the record's.
    assert_eq!(out[1].as_ref().unwrap_err().field, "note");
    assert!(out[1].as_ref().unwrap_err().message.contains("1024 characters"));
    assert_eq!(ok(&out[2..])[0].field("note"), Some("ok"));
}

#[test]
fn row_errors_do_not_stop_the_upload() {
    let rows = parse(b"phone1,city\nnope,Paris\n5550100,\xffParis\n5550101,Lyon\n5550102\n,Nice\n").unwrap();
    let errs: Vec<(u64, &str)> =
        rows.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(errs, [(1, "phone1"), (2, "city"), (4, "row"), (5, "phone1")]);
    let good: Vec<_> = rows.iter().filter_map(|r| r.as_ref().ok()).map(|(n, r)| (*n, r.phone1.as_str())).collect();
    assert_eq!(good, [(3, "5550101")]);
}

#[test]
fn extra_fields_are_counted_not_kept() {
    let many = ",x".repeat(10_000);
    let rows = parse(format!("phone1,a\n5550100{many}\n5550101,b\n").as_bytes()).unwrap();
    assert!(rows[0].as_ref().unwrap_err().message.contains("10001 fields"));
    assert_eq!(ok(&rows[1..])[0].field("a"), Some("b"));
}

#[test]
fn blank_looking_lines_are_skipped() {
    let rows = parse(b"phone1\n\n   \n\"\"\r\n5550100\n\r\n").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].as_ref().unwrap().0, 1);
}

#[test]
fn bom_alone_or_split() {
    let input = b"\xef\xbb\xbfphone1\n5550100\n";
    for i in 0..=4 {
        let (a, b) = input.split_at(i);
        let (rows, _) = parse_chunks(&[a, b]).unwrap();
        assert_eq!(ok(&rows)[0].phone1, "5550100", "split at {i}");
    }
    assert!(header_err(b"\xef\xbb\xbf").contains("no header"));
    assert_eq!(ok(&parse(b"\xef\xbb\xbfphone1\n55").unwrap())[0].phone1, "55");
    // A short input that starts like a BOM is just data.
    assert!(header_err(b"\xef\xbb").contains("UTF-8"));
}
