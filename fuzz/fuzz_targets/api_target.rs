//! `api::target::Target::parse`: the `to` of `POST /v1/calls`.
#![no_main]

use dialerd::api::target::Target;
use dialerd::config::{is_sip_user, split_host_port};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(to) = std::str::from_utf8(data) else { return };
    let Ok(target) = Target::parse(to) else { return };
    match &target {
        Target::Number(n) => {
            let body = n.strip_prefix('+').unwrap_or(n);
            assert!((2..=20).contains(&body.len()), "{n:?}");
            assert!(body.bytes().all(|b| b.is_ascii_digit()), "{n:?}");
            // A normalised number parses to itself, also written as tel:.
            assert_eq!(Target::parse(n).as_ref(), Ok(&target));
            assert_eq!(Target::parse(&format!("tel:{n}")).as_ref(), Ok(&target));
        }
        Target::Uri { user, host } => {
            assert!(is_sip_user(user), "{user:?}");
            assert!(!host.is_empty());
            assert!(!host.contains([';', '?', ' ', '>', '<', '@']), "{host:?}");
            assert!(
                split_host_port(host).is_ok()
                    || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{host:?}"
            );
            assert!(!host.chars().any(char::is_whitespace) && !user.chars().any(char::is_whitespace));
            let uri = format!("sip:{user}@{host}");
            assert_eq!(Target::parse(&uri).as_ref(), Ok(&target), "{uri:?}");
        }
    }
});
