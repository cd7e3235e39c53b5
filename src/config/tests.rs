use super::*;

const MINIMAL: &str = r#"
[sip]
listen = "127.0.0.1:5060"
[api]
listen = "127.0.0.1:8080"
keys = ["0123456789abcdef"]
[media]
prompts_dir = "."
[[trunks]]
name = "carrier"
address = "127.0.0.1:5080"
"#;

fn keys_of(err: ConfigError) -> Vec<String> {
    err.problems().into_iter().map(|p| p.key).collect()
}

#[test]
fn minimal_config_gets_defaults() {
    let c = Config::from_toml(MINIMAL).unwrap();
    assert_eq!(c.sip.listen, "127.0.0.1:5060".parse().unwrap());
    assert_eq!(c.storage.data_dir, PathBuf::from("./var"));
    assert_eq!(c.trunks[0].port, 5080);
    assert_eq!(c.trunks[0].transport, SipTransport::Udp);
    assert_eq!(c.calls.no_answer_timeout, Duration::from_secs(30));
    assert_eq!(c.media.idle, IdleMedia::Silence);
    assert_eq!(c.sip.t1, Duration::from_millis(500));
    assert!(!c.sip.supports_100rel, "100rel is opt-in: some carriers then insist on it");
}

#[test]
fn supports_100rel_is_read_and_a_bad_value_is_named() {
    let on = MINIMAL.replace("[api]", "supports_100rel = true\n[api]");
    assert!(Config::from_toml(&on).unwrap().sip.supports_100rel);
    let bad = MINIMAL.replace("[api]", "supports_100rel = \"yes\"\n[api]");
    assert_eq!(keys_of(Config::from_toml(&bad).unwrap_err()), ["sip.supports_100rel"]);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = r#"
[sip]
listen = "not-an-address"
t1_ms = "fast"
[api]
listen = "127.0.0.1:8080"
keys = []
[media]
rtp_port_min = 20000
rtp_port_max = 10000
prompts_dir = "/definitely/missing"
idle = "music"
[calls]
no_answer_timout_s = 5
[[trunks]]
name = "a b"
address = "127.0.0.1:0"
transport = "sctp"
username = "u"
[[trunks]]
address = "[::1]:5060"
"#;
    let keys = keys_of(Config::from_toml(text).unwrap_err());
    for expected in [
        "sip.listen",
        "sip.t1_ms",
        "api.keys",
        "media.rtp_port_max",
        "media.prompts_dir",
        "media.idle",
        "calls.no_answer_timout_s",
        "trunks[0].name",
        "trunks[0].address",
        "trunks[0].transport",
        "trunks[0].password",
        "trunks[1].name",
    ] {
        assert!(keys.contains(&expected.to_string()), "missing {expected} in {keys:?}");
    }
}

#[test]
fn missing_required_sections_are_named() {
    let keys = keys_of(Config::from_toml("[media]\nprompts_dir='.'\n").unwrap_err());
    assert!(keys.contains(&"sip.listen".to_string()), "{keys:?}");
    assert!(keys.contains(&"api.listen".to_string()), "{keys:?}");
    assert!(keys.contains(&"trunks".to_string()), "{keys:?}");
}

#[test]
fn duplicate_trunk_names_are_refused() {
    let text = format!("{MINIMAL}\n[[trunks]]\nname = \"carrier\"\naddress = \"127.0.0.1:5090\"\n");
    let keys = keys_of(Config::from_toml(&text).unwrap_err());
    assert_eq!(keys, vec!["trunks[1].name".to_string()]);
}

#[test]
fn environment_overrides_sections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let env = [
        ("DIALERD__SIP__LISTEN".to_string(), "127.0.0.2:5070".to_string()),
        ("DIALERD__API__KEYS".to_string(), "key-one-123,key-two-456".to_string()),
        ("DIALERD__SIP__T1_MS".to_string(), "50".to_string()),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let c = Config::load_with_env(&path, env).unwrap();
    assert_eq!(c.sip.listen, "127.0.0.2:5070".parse().unwrap());
    let keys: Vec<&str> = c.api.keys.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, vec!["key-one-123", "key-two-456"]);
    assert!(c.api.keys.iter().all(|k| k.role == crate::auth::Role::Sysadmin && k.client.0 == "default"));
    assert_eq!(c.sip.t1, Duration::from_millis(50));
}

#[test]
fn api_keys_as_tables_name_role_and_client() {
    let text = r#"
[sip]
listen = "127.0.0.1:5060"
[api]
listen = "127.0.0.1:8080"
keys = ["plain-key-123", { key = "manager-key-1", role = "manager", client = "acme" }, { key = "bad-key-123", role = "root" }]
[media]
prompts_dir = "."
[dialplans]
dir = "."
[[trunks]]
name = "t"
address = "127.0.0.1:5080"
"#;
    let keys = keys_of(Config::from_toml(text).unwrap_err());
    assert_eq!(keys, vec!["api.keys[2].role".to_string()]);
    let ok = text.replace(r#", { key = "bad-key-123", role = "root" }"#, "");
    let c = Config::from_toml(&ok).unwrap();
    assert_eq!(c.api.keys[1].role, crate::auth::Role::Manager);
    assert_eq!(c.api.keys[1].client.0, "acme");
}

#[test]
fn host_port_forms() {
    assert_eq!(split_host_port("sip.example.com:5060").unwrap(), ("sip.example.com".into(), 5060));
    assert_eq!(split_host_port("[::1]:5062").unwrap(), ("::1".into(), 5062));
    assert!(split_host_port("::1:5060").is_err());
    assert!(split_host_port("host").is_err());
    assert!(split_host_port("host:0").is_err());
    assert!(split_host_port("host:70000").is_err());
}

#[test]
fn shipped_config_is_valid() {
    // The repository's own dialerd.toml must always load (README contract).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("dialerd.toml")).unwrap();
    let text = text.replace("dialplans/prompts", &root.join("dialplans/prompts").display().to_string());
    let c = Config::from_toml(&text).unwrap();
    assert_eq!(c.sip.listen, "127.0.0.1:5060".parse().unwrap());
    assert_eq!(c.api.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.storage.data_dir, PathBuf::from("./var"));
}

#[test]
fn lead_api_problems_are_named_and_services_inherit_the_account() {
    let good = format!(
        r#"{MINIMAL}
[lead_api]
cors_origins = ["https://shop.example"]
[lead_api.sms]
url = "https://sms.example/send"
auth_header = "Authorization: Bearer x"
body = '{{"to": "{{to}}", "text": "{{text}}"}}'
[[lead_api.accounts]]
account_key = "mydemo"
apikeys = ["0123456789abcdef"]
region = "il"
trunks = ["carrier"]
attempts = 4
[[lead_api.services]]
account_key = "mydemo"
service_id = 7
retry_interval_s = 30
working_hours = {{ mon = ["09:00-17:00"] }}
"#
    );
    let c = Config::from_toml(&good).unwrap();
    let s = &c.lead_api.services[0];
    assert_eq!((s.policy.attempts, s.policy.retry_interval), (4, Duration::from_secs(30)), "inherited, overridden");
    assert_eq!(c.lead_api.accounts[0].region, "IL");
    assert_eq!(c.lead_api.sms.as_ref().unwrap().auth_header, Some(("Authorization".into(), "Bearer x".into())));
    let bad = r#"
[lead_api]
cors_origins = ["shop.example"]
link_secret = "short"
[lead_api.sms]
url = "ftp://x"
body = '{"to": {to}}'
[[lead_api.accounts]]
account_key = "mydemo"
apikeys = ["short"]
region = "XX"
channels = ["fax"]
sms_text = "{nope}"
[[lead_api.services]]
account_key = "other"
service_id = 1
[[lead_api.services]]
account_key = "mydemo"
service_id = 2
trunks = ["nowhere"]
working_hours = { mon = ["17:00-09:00"] }
"#;
    let mut keys = keys_of(Config::from_toml(&format!("{MINIMAL}{bad}")).unwrap_err());
    keys.sort();
    assert_eq!(
        keys,
        [
            "lead_api.accounts[0].apikeys",
            "lead_api.accounts[0].channels[0]",
            "lead_api.accounts[0].region",
            "lead_api.accounts[0].sms_text",
            "lead_api.cors_origins[0]",
            "lead_api.link_secret",
            "lead_api.services[0].account_key",
            "lead_api.services[1].trunks[0]",
            "lead_api.services[1].working_hours.mon[0]",
            "lead_api.sms.body",
            "lead_api.sms.url",
        ]
    );
}
