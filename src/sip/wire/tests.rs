use super::*;

fn req(head: &str, body: &str) -> Vec<u8> {
    format!("{}\r\n\r\n{body}", head.trim().replace('\n', "\r\n")).into_bytes()
}

const OK: &str = "INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport
From: \"Alice\" <sip:alice@example.com>;tag=1
To: <sip:+15551234@example.com>
Call-ID: abc@192.0.2.1
CSeq: 1 INVITE
Contact: <sip:alice@192.0.2.1>
Max-Forwards: 70
Content-Length: 4";

fn verdict(head: &str, body: &str) -> Verdict {
    lint(&scan(&req(head, body)).unwrap())
}

#[test]
fn a_plain_invite_passes() {
    assert_eq!(verdict(OK, "abcd"), Verdict::Pass);
}

#[test]
fn folding_compact_forms_and_odd_spacing_are_valid() {
    let head = "OPTIONS sip:u@example.com SIP/2.0
v:  SIP  / 2.0  / UDP   h.example.com   ;
  branch  =   z9hG4bK1  ,
 SIP / 2.0 / UDP 192.0.2.4 ; branch = z9hG4bK2
TO :
 sip:u@example.com ;   tag    = 18
f: token1~` tok'en2 <sip:m@example.com>;p''~=\"v\";tag=x
i: x
CSeq: 0009
  OPTIONS
m:\"Quoted \\\"x\\\"\" <sip:j@example.com> ; q = 0.3, sip:k@example.com;expires=5
l: 0";
    let m = scan(&req(head, "")).unwrap();
    assert_eq!(m.header("cseq"), Some("0009 OPTIONS"));
    assert_eq!(m.header("call-id"), Some("x"));
    assert_eq!(lint(&m), Verdict::Pass);
}

#[test]
fn request_line_rules() {
    let with_line = |l: &str| OK.replacen("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0", l, 1);
    assert_eq!(verdict(&with_line("INVITE  sip:a@b SIP/2.0"), "abcd"), Verdict::Reject(400, "malformed Request-Line"));
    assert_eq!(verdict(&with_line("INVITE sip:a@b SIP/2.0 "), "abcd"), Verdict::Reject(400, "malformed Request-Line"));
    assert_eq!(verdict(&with_line("INVITE sip:a@b SIP/7.0"), "abcd"), Verdict::Reject(505, "version"));
    assert_eq!(
        verdict(&with_line("INVITE <sip:a@b> SIP/2.0"), "abcd"),
        Verdict::Reject(400, "Request-URI in angle brackets")
    );
    assert_eq!(
        verdict(&with_line("INVITE sip:a@b?Route=%3Csip:c%3E SIP/2.0"), "abcd"),
        Verdict::Reject(400, "headers in the Request-URI")
    );
    assert_eq!(
        verdict(&with_line("INVITE sip:2001:db8::10 SIP/2.0"), "abcd"),
        Verdict::Reject(400, "IPv6 address without brackets")
    );
    assert_eq!(
        verdict(&with_line("INVITE sip:u@[2001:db8:::192.0.2.1] SIP/2.0"), "abcd"),
        Verdict::Reject(400, "invalid IPv6 reference")
    );
    assert_eq!(
        verdict(&with_line("INVITE sip:u@[2001:db8::10:5070] SIP/2.0"), "abcd"),
        Verdict::Pass,
        "RFC 5118 §4.3: no port"
    );
    assert_eq!(verdict(&with_line("INVITE sip:u@[2001:db8::10]:5070 SIP/2.0"), "abcd"), Verdict::Pass);
    assert_eq!(
        verdict(&with_line("INVITE sip:1_u.URI~(x!y)&is+it$/c?,/;;*:&it=1@example.com SIP/2.0"), "abcd"),
        Verdict::Pass,
        "? in the user part"
    );
}

#[test]
fn header_rules() {
    let swap = |from: &str, to: &str| OK.replacen(from, to, 1);
    let bad = |head: String| matches!(verdict(&head, "abcd"), Verdict::Reject(400, _));
    assert!(bad(swap("CSeq: 1 INVITE", "CSeq: 1 OPTIONS")), "CSeq method mismatch");
    assert!(bad(swap("CSeq: 1 INVITE", "CSeq: 36893488147419103232 INVITE")), "CSeq overflow");
    assert!(bad(swap("Max-Forwards: 70", "Max-Forwards: 300")));
    assert!(bad(swap("Content-Length: 4", "Content-Length: -4")));
    assert!(bad(swap("Content-Length: 4", "Content-Length: 9999")), "longer than the body");
    assert!(bad(swap("Content-Length: 4", "Content-Length: 4\nl: 5")));
    assert!(
        bad(swap("To: <sip:+15551234@example.com>", "To: \"Mr. J. User <sip:j.user@example.com>")),
        "unbalanced quote"
    );
    assert!(
        bad(swap("To: <sip:+15551234@example.com>", "To: Watson, Thomas <sip:t@example.org>")),
        "non-token display"
    );
    assert!(bad(swap("To: <sip:+15551234@example.com>", "To: \"W\" < sip:t@example.org >")), "spaces in addr-spec");
    assert!(bad(swap("Contact: <sip:alice@192.0.2.1>", "Contact: <sip:alice@192.0.2.1>;;;;")), "empty params");
    assert!(
        bad(swap("Contact: <sip:alice@192.0.2.1>", "Contact: sip:u@example.com?Route=%3Csip:x%3E")),
        "? outside brackets"
    );
    assert!(bad(swap(";branch=z9hG4bKabc;rport", ";;,;,,")), "empty Via params");
    assert!(bad(swap("Call-ID: abc@192.0.2.1\n", "")), "missing Call-ID");
    assert_eq!(
        verdict(&OK.replacen("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport\n", "", 1), "abcd"),
        Verdict::Drop("no Via to answer to")
    );
    assert_eq!(verdict(&swap("Contact: <sip:alice@192.0.2.1>", "Contact: *"), "abcd"), Verdict::Pass);
    assert_eq!(
        verdict(
            &swap(
                "To: <sip:+15551234@example.com>",
                "To: \"BEL:\\\u{7} q\" <sip:1_u.URI~(x!y)&z+it$/c?,/;;*@example.com>"
            ),
            "abcd"
        ),
        Verdict::Pass,
        "anything goes inside quotes and brackets"
    );
}

#[test]
fn responses_are_not_linted_but_codes_are_read() {
    let m = scan(b"SIP/2.0 4294967301 better not break the receiver\r\n\r\n").unwrap();
    assert_eq!(m.start, Start::Response { code: None });
    let m = scan(b"SIP/2.0 100 \r\nVia: x\r\n\r\n").unwrap();
    assert_eq!(m.start, Start::Response { code: Some(100) });
    assert_eq!(lint(&m), Verdict::Pass);
}

#[test]
fn stateless_response_echoes_and_tags() {
    let m = scan(&req(OK, "abcd")).unwrap();
    let r = String::from_utf8(response(&m, 480, "Temporarily Unavailable", "t1", &[("Allow", "INVITE")])).unwrap();
    assert!(r.starts_with("SIP/2.0 480 Temporarily Unavailable\r\n"));
    assert!(r.contains("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport\r\n"));
    assert!(r.contains("To: <sip:+15551234@example.com>;tag=t1\r\n"));
    assert!(!r.contains("Contact:"), "stateless responses carry no Contact");
    assert!(r.contains("Allow: INVITE\r\n"));
    assert!(r.ends_with("Content-Length: 0\r\n\r\n"));
    // An already tagged To keeps its tag.
    let tagged = scan(&req(&OK.replace("To: <sip:+15551234@example.com>", "To: <sip:x@y>;tag=abc"), "abcd")).unwrap();
    let r = String::from_utf8(response(&tagged, 481, "x", "t1", &[])).unwrap();
    assert!(r.contains("To: <sip:x@y>;tag=abc\r\n"), "{r}");
}

#[test]
fn scanning_garbage_never_panics() {
    for input in
        [&b""[..], b"\r\n", b"\xff\xfe\r\n\r\n", b"INVITE", b"SIP/2.0", b":::\r\n\r\n", b"A B C\r\n\t\r\n x\r\n"]
    {
        if let Some(m) = scan(input) {
            let _ = lint(&m);
            let _ = response(&m, 400, "Bad Request", "t", &[]);
        }
    }
}

#[test]
fn rfc2543_requests_have_no_magic_cookie() {
    let m = scan(&req(OK, "abcd")).unwrap();
    assert!(has_rfc3261_branch(&m));
    let old = scan(&req(&OK.replace(";branch=z9hG4bKabc;rport", ""), "abcd")).unwrap();
    assert!(!has_rfc3261_branch(&old));
    let other = scan(&req(&OK.replace("branch=z9hG4bKabc", "branch=390skdjuw"), "abcd")).unwrap();
    assert!(!has_rfc3261_branch(&other));
}
