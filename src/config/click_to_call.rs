//! `[click_to_call]`: the sites allowed to ask dialerd to connect a visitor
//! with the brand's agents (issue 7, seed 000), each with the secret its
//! backend signs requests with, the client it works for, the trunk the
//! visitor is dialled through and its limits.
//!
//! ```toml
//! [click_to_call]
//! whisper_dialplan = "agent-whisper"  # run on the agent's leg; "accepted" connects
//! retention_h = 6
//!
//! [[click_to_call.sites]]
//! key = "shop"                         # public: names the site
//! secrets = ["a-long-random-secret"]   # two while rotating
//! trunk = "carrier"
//! agent_groups = ["sales"]             # groups this site may ring (all of its client's when absent)
//! per_number_per_hour = 3
//! per_site_per_minute = 30
//! time_zone = "Europe/London"
//! working_hours = { mon = ["09:00-18:00"], tue = ["09:00-18:00"] }
//! allowed_origins = ["https://www.example.com"]  # pages whose widget reads dialerd (CORS)
//! ```

use super::Problem;
use super::reader::{self, Reader};
use crate::campaign::calendar::{Schedule, ScheduleSpec, Window};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ClickToCallConfig {
    pub whisper_dialplan: String,
    /// The outcome of the whisper flow that connects the customer.
    pub accept_outcome: String,
    /// Request age after which `GET` answers 410.
    pub retention: Duration,
    /// How far the signed time may be from ours.
    pub tolerance: Duration,
    pub customer_no_answer: Duration,
    /// How long the agent may take to accept (the whisper) before the
    /// request fails.
    pub accept_timeout: Duration,
    pub sites: Vec<SiteConfig>,
}

impl Default for ClickToCallConfig {
    fn default() -> Self {
        ClickToCallConfig {
            whisper_dialplan: "agent-whisper".into(),
            accept_outcome: "accepted".into(),
            retention: Duration::from_secs(6 * 3600),
            tolerance: Duration::from_secs(300),
            customer_no_answer: Duration::from_secs(30),
            accept_timeout: Duration::from_secs(30),
            sites: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub key: String,
    pub secrets: Vec<String>,
    pub client: String,
    pub trunk: String,
    /// Groups this site may ring; empty = any group of its client.
    pub agent_groups: Vec<String>,
    pub per_number_per_hour: u32,
    pub per_site_per_minute: u32,
    pub time_zone: jiff::tz::TimeZone,
    pub working_hours: Schedule,
    /// The customer's local calling window (zones from the number).
    pub calling_window: Window,
    /// Extra visitor fields the widget asks for (name and phone always).
    pub fields: Vec<String>,
    /// ISO 3166 region for numbers written without a country code.
    pub region: String,
    /// Origins (`scheme://host[:port]`) whose pages may read this site's
    /// widget settings and its requests' status from the browser (CORS).
    pub allowed_origins: Vec<String>,
}

/// An origin as browsers send it: `http(s)://host[:port]`, nothing after.
/// A trailing `/` is forgiven; the result is what `Origin` is compared to.
pub fn origin(s: &str) -> Result<String, String> {
    let s = s.strip_suffix('/').unwrap_or(s);
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or("an origin starts with https:// or http:// (\"*\" is not accepted: list each site)")?;
    // An IPv6 host is bracketed: its colons are not the port's.
    let split_at = if rest.starts_with('[') { rest.find("]:").map(|i| i + 1) } else { rest.rfind(':') };
    let (host, port) = match split_at {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        && !host.bytes().any(|b| b.is_ascii_uppercase());
    if !host_ok {
        return Err("an origin is scheme://host[:port] in lower case, with no path, query or user".into());
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0)) {
        return Err("the port must be a number from 1 to 65535".into());
    }
    Ok(s.to_string())
}

fn read_site(r: &mut Reader<'_, '_>, trunks: &[&str], sites: &[SiteConfig]) -> Option<SiteConfig> {
    let key = r.required_string("key").unwrap_or_default();
    if !key.is_empty() && !crate::ids::valid_name(&key) {
        r.problem("key", "1 to 64 letters, digits, '-', '_' or '.'");
    }
    if sites.iter().any(|s| s.key == key) {
        r.problem("key", format!("{key:?} is used by another site"));
    }
    let mut secrets = r.strings("secrets").unwrap_or_default();
    if let Some(s) = r.opt_string("secret") {
        secrets.push(s);
    }
    if secrets.is_empty() {
        r.problem("secrets", "give the site's signing secret (secret = \"...\" or secrets = [...])");
    }
    if secrets.iter().any(|s| s.len() < 16) {
        r.problem("secrets", "each secret must be at least 16 characters");
    }
    let client = r.string("client", crate::auth::DEFAULT_CLIENT);
    let trunk = r.required_string("trunk").unwrap_or_default();
    if !trunk.is_empty() && !trunks.contains(&trunk.as_str()) {
        r.problem("trunk", format!("no [[trunks]] entry named {trunk:?}"));
    }
    let agent_groups = r.strings("agent_groups").unwrap_or_default();
    let per_number_per_hour = r.integer("per_number_per_hour", 3, 1, 1000) as u32;
    let per_site_per_minute = r.integer("per_site_per_minute", 30, 1, 100_000) as u32;
    let tz_name = r.string("time_zone", "UTC");
    let time_zone = match jiff::tz::TimeZone::get(&tz_name) {
        Ok(tz) => tz,
        Err(_) => {
            r.problem("time_zone", format!("{tz_name:?} is not an IANA time zone"));
            jiff::tz::TimeZone::UTC
        }
    };
    let working_hours = match r.raw("working_hours") {
        None => Schedule::always(),
        Some(v) => match serde_json::from_value::<ScheduleSpec>(v.clone()).map_err(|e| ("".to_string(), e.to_string()))
        {
            Ok(spec) => Schedule::from_spec(&spec).unwrap_or_else(|e| {
                r.problem(&format!("working_hours.{}", e.field), e.message);
                Schedule::always()
            }),
            Err((_, e)) => {
                r.problem("working_hours", e);
                Schedule::always()
            }
        },
    };
    let window_text = r.string("calling_window", "08:00-21:00");
    let calling_window = Window::parse(&window_text).unwrap_or_else(|e| {
        r.problem("calling_window", e);
        Window::parse("00:00-24:00").expect("the whole day is a window")
    });
    let region = r.string("region", "US");
    if !crate::leads::phone::valid_region(&region) {
        r.problem("region", format!("{region:?} is not an ISO 3166 alpha-2 region such as US or GB"));
    }
    let fields = r.strings("fields").unwrap_or_default();
    for (i, f) in fields.iter().enumerate() {
        if !crate::ids::valid_name(f) || f == "name" || f == "phone" {
            r.problem(&format!("fields[{i}]"), "a name of 1 to 64 letters, digits, '-', '_' or '.' (not name/phone)");
        }
    }
    let mut allowed_origins = Vec::new();
    for (i, o) in r.strings("allowed_origins").unwrap_or_default().iter().enumerate() {
        match origin(o) {
            Ok(o) => allowed_origins.push(o),
            Err(e) => r.problem(&format!("allowed_origins[{i}]"), format!("{o:?}: {e}")),
        }
    }
    Some(SiteConfig {
        key,
        secrets,
        client,
        trunk,
        agent_groups,
        per_number_per_hour,
        per_site_per_minute,
        time_zone,
        working_hours,
        calling_window,
        fields,
        region,
        allowed_origins,
    })
}

pub(super) fn read(t: Option<&Map<String, Value>>, trunks: &[&str], problems: &mut Vec<Problem>) -> ClickToCallConfig {
    let d = ClickToCallConfig::default();
    let mut r = Reader::new(t, "click_to_call", problems);
    let mut c = ClickToCallConfig {
        whisper_dialplan: r.string("whisper_dialplan", &d.whisper_dialplan),
        accept_outcome: r.string("accept_outcome", &d.accept_outcome),
        retention: r.seconds("retention_h", 6.0, 1.0 / 3600.0, 24.0 * 30.0) * 3600,
        tolerance: r.seconds("tolerance_s", 300.0, 1.0, 3600.0),
        customer_no_answer: r.seconds("customer_no_answer_s", 30.0, 1.0, 300.0),
        accept_timeout: r.seconds("accept_timeout_s", 30.0, 1.0, 600.0),
        sites: Vec::new(),
    };
    let sites = r.raw("sites").cloned();
    r.finish();
    for (prefix, table) in reader::tables(sites.as_ref(), "click_to_call.sites", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let site = read_site(&mut r, trunks, &c.sites);
        r.finish();
        c.sites.extend(site);
    }
    c
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str = crate::config::TEST_BASE;

    fn problems(extra: &str) -> Vec<String> {
        match Config::from_toml(&format!("{BASE}{extra}")) {
            Ok(_) => vec![],
            Err(e) => e.problems().iter().map(|p| format!("{}: {}", p.key, p.message)).collect(),
        }
    }

    #[test]
    fn a_site_reads_with_defaults() {
        let c = Config::from_toml(&format!(
            "{BASE}[click_to_call]\nretention_h = 1\n[[click_to_call.sites]]\nkey = \"shop\"\n\
             secret = \"0123456789abcdef0\"\ntrunk = \"pbx\"\n"
        ))
        .unwrap();
        let s = &c.click_to_call.sites[0];
        assert_eq!((s.key.as_str(), s.client.as_str(), s.per_number_per_hour), ("shop", "default", 3));
        assert_eq!(c.click_to_call.retention.as_secs(), 3600);
        assert_eq!(c.click_to_call.whisper_dialplan, "agent-whisper");
        assert!(s.allowed_origins.is_empty(), "no browser may read anything unless listed");
    }

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        use super::origin;
        assert_eq!(origin("https://www.example.com/").as_deref(), Ok("https://www.example.com"));
        assert_eq!(origin("http://127.0.0.1:8081").as_deref(), Ok("http://127.0.0.1:8081"));
        assert_eq!(origin("http://[::1]:8081").as_deref(), Ok("http://[::1]:8081"));
        assert_eq!(origin("http://[::1]").as_deref(), Ok("http://[::1]"));
        for bad in ["*", "www.example.com", "https://", "https://a.example/x", "https://u@a.example", "http://a:99999"]
        {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_sites_are_named() {
        let p = problems(
            "[[click_to_call.sites]]\nkey = \"shop\"\nsecret = \"short\"\ntrunk = \"nope\"\n\
             time_zone = \"Mars/Base\"\ncalling_window = \"25:00-26:00\"\nfields = [\"phone\"]\n",
        );
        for key in ["secrets", "trunk", "time_zone", "calling_window", "fields[0]"] {
            assert!(p.iter().any(|x| x.starts_with(&format!("click_to_call.sites[0].{key}:"))), "{key}: {p:?}");
        }
        let p = problems(
            "[[click_to_call.sites]]\nkey = \"shop\"\nsecret = \"0123456789abcdef0\"\ntrunk = \"pbx\"\n\
             allowed_origins = [\"https://ok.example\", \"*\", \"https://x.example/path\", \"ftp://x.example\", \
             \"https://X.example\", \"http://x.example:0\"]\n",
        );
        for i in 1..=5 {
            let key = format!("click_to_call.sites[0].allowed_origins[{i}]:");
            assert!(p.iter().any(|x| x.starts_with(&key)), "{key} {p:?}");
        }
        assert!(!p.iter().any(|x| x.contains("allowed_origins[0]")), "{p:?}");
        let p = problems("[[click_to_call.sites]]\ntrunk = \"pbx\"\n");
        assert!(p.iter().any(|x| x.starts_with("click_to_call.sites[0].key:")), "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("click_to_call.sites[0].secrets:")), "{p:?}");
    }
}
