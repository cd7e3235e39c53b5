//! `config::Config::from_toml`: the configuration file, validated.
#![no_main]

use dialerd::config::{Config, ConfigError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Config::from_toml(text) {
        Err(ConfigError::Invalid(problems)) => {
            assert!(!problems.is_empty(), "Invalid with no problem named");
            for p in &problems {
                assert!(!p.key.is_empty() && !p.message.is_empty(), "{p:?}");
            }
        }
        Err(ConfigError::Read { message, .. }) => assert!(!message.is_empty()),
        Ok(cfg) => {
            // Everything validation promises.
            assert!(!cfg.trunks.is_empty(), "a config without trunks");
            for (i, t) in cfg.trunks.iter().enumerate() {
                assert_ne!(t.port, 0, "trunk {i}");
                assert!(!t.host.is_empty());
                assert!(!t.name.is_empty() && t.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
                assert!(cfg.trunks[..i].iter().all(|o| o.name != t.name), "duplicate trunk {:?}", t.name);
                assert_eq!(t.username.is_some(), t.password.is_some());
                assert!(t.max_concurrent >= 1);
                assert!(t.max_cps.is_finite() && t.max_cps > 0.0, "max_cps {}", t.max_cps);
                assert_eq!(cfg.trunk_by_name(&t.name), Some(i));
            }
            assert!(cfg.media.rtp_port_min < cfg.media.rtp_port_max);
            assert!(cfg.media.rtp_port_min >= 1024);
            assert!(cfg.sip.t1 <= cfg.sip.t2);
            assert!(!cfg.api.keys.is_empty());
            for k in &cfg.api.keys {
                assert!(k.len() >= 8 && !k.chars().any(|c| c.is_whitespace() || c.is_control()), "{k:?}");
            }
            assert!(cfg.sip.listen != cfg.api.listen || cfg.sip.listen.port() == 0);
            assert!(!cfg.media_ip().is_unspecified());
            assert!(cfg.calls.max_redirects <= 3);
            assert!(cfg.calls.max_active >= 1);
        }
    }
});
