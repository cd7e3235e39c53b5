//! `config::split_host_port` (trunk addresses), `is_sip_user` and
//! `Cidr::parse` (trunks' `inbound_cidrs`).
#![no_main]

use dialerd::config::{Cidr, is_sip_user, split_host_port};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };

    if let Ok(c) = Cidr::parse(s) {
        // Written back it parses to the same range, which holds its own
        // network address.
        let text = c.to_string();
        assert_eq!(Cidr::parse(&text), Ok(c), "{s:?} -> {text:?}");
        let net: std::net::IpAddr = text.split('/').next().unwrap().parse().unwrap();
        assert!(c.contains(net), "{text} does not contain its address");
    }

    if is_sip_user(s) {
        assert!(!s.is_empty() && s.len() <= 64);
        assert!(!s.contains(['@', ':', ';', '<', '>', ' ']), "{s:?}");
    }

    let Ok((host, port)) = split_host_port(s) else { return };
    assert_ne!(port, 0);
    assert!(!host.is_empty());
    assert!(host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')), "{host:?}");
    assert!(host.len() < s.len());
    if host.contains(':') {
        assert!(s.starts_with('['), "an IPv6 host without brackets: {s:?}");
    }
    // Written back canonically, it splits to the same pair.
    let canonical = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    assert_eq!(split_host_port(&canonical), Ok((host.clone(), port)), "{s:?} -> {canonical:?}");
});
