//! `[lead_api]`: the Lucep-compatible lead API (seed 001). Accounts name a
//! client with its API keys and default dialling region; each lead service
//! (`service_id`) is a qualification campaign whose call and message
//! settings default to its account's. Message channels (SMTP, SMS and
//! WhatsApp providers) are shared by every account.

use super::Problem;
pub use super::lead_policy::{Channel, LeadPolicy, OnCallMe, PROVIDER_VARS, TEMPLATE_VARS, Templates};
use super::lead_policy::{default_policy, read_policy};
use super::reader::{self, Reader};
use crate::campaign::calendar::ScheduleSpec;
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct LeadApiConfig {
    /// Requests per client IP per rolling minute (both actions together).
    pub rate_per_minute: u32,
    pub token_ttl: Duration,
    /// Origins allowed to post cross-origin (`*` for any).
    pub cors_origins: Vec<String>,
    /// Take the client IP from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Base of confirm links (`https://leads.example.com`); the API's own
    /// address when absent.
    pub public_url: Option<String>,
    pub link_ttl: Duration,
    /// HMAC key of confirm links; generated and kept in the data dir when
    /// absent.
    pub link_secret: Option<String>,
    pub reconcile_interval: Duration,
    pub message_retry_base: Duration,
    pub message_retry_max: Duration,
    /// A message still failing this long after it was queued is dropped.
    pub message_horizon: Duration,
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<ProviderConfig>,
    pub whatsapp: Option<ProviderConfig>,
    pub accounts: Vec<LeadAccount>,
    pub services: Vec<LeadService>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub timeout: Duration,
    pub accept_invalid_certs: bool,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub url: String,
    /// `"Authorization: Bearer x"` split at the first colon.
    pub auth_header: Option<(String, String)>,
    /// JSON with `{var}` placeholders (values are JSON-escaped).
    pub body: String,
    pub timeout: Duration,
    /// SMS only: split long texts into at most this many parts; 1 refuses
    /// a text that does not fit one SMS.
    pub max_parts: u32,
}

#[derive(Debug, Clone)]
pub struct LeadAccount {
    pub account_key: String,
    pub client: String,
    pub apikeys: Vec<String>,
    /// ISO 3166 region for national numbers (`US`, `GB`, `IL`...).
    pub region: String,
    /// Numbers must be valid for their region (libphonenumber), not merely
    /// of a possible length.
    pub strict_numbers: bool,
    pub policy: LeadPolicy,
}

#[derive(Debug, Clone)]
pub struct LeadService {
    pub account_key: String,
    pub service_id: i64,
    pub name: String,
    pub time_zone: String,
    /// A schedule (working hours) of the client, shared by name.
    pub schedule: Option<String>,
    /// Working hours written under the name `schedule` (or
    /// `lead-<account>-<service_id>`) at start.
    pub working_hours: Option<ScheduleSpec>,
    pub policy: LeadPolicy,
}

fn read_smtp(r: &mut Reader<'_, '_>) -> Option<SmtpConfig> {
    let host = r.required_string("host");
    let security = r.choice(
        "security",
        SmtpSecurity::StartTls,
        &[("none", SmtpSecurity::None), ("starttls", SmtpSecurity::StartTls), ("tls", SmtpSecurity::Tls)],
    );
    let default_port = match security {
        SmtpSecurity::Tls => 465,
        _ => 587,
    };
    let c = SmtpConfig {
        host: host.unwrap_or_default(),
        port: r.integer("port", default_port, 1, 65_535) as u16,
        security,
        username: r.opt_string("username"),
        password: r.opt_string("password"),
        from: r.required_string("from").unwrap_or_default(),
        timeout: r.seconds("timeout_s", 15.0, 0.1, 300.0),
        accept_invalid_certs: r.boolean("accept_invalid_certs", false),
    };
    if c.username.is_some() != c.password.is_some() {
        r.problem("password", "username and password go together");
    }
    Some(c)
}

fn read_provider(r: &mut Reader<'_, '_>, sms: bool) -> Option<ProviderConfig> {
    let url = r.required_string("url").unwrap_or_default();
    if let Err(m) = crate::events::check_url(&url) {
        r.problem("url", m);
    }
    let auth_header = r.opt_string("auth_header").and_then(|h| match h.split_once(':') {
        Some((n, v)) if !n.trim().is_empty() && !n.contains(' ') => Some((n.trim().to_string(), v.trim().to_string())),
        _ => {
            r.problem("auth_header", "expected \"Name: value\", e.g. \"Authorization: Bearer ...\"");
            None
        }
    });
    let body = r.required_string("body").unwrap_or_default();
    if let Err(m) = crate::leads::provider::check_body_template(&body, &PROVIDER_VARS) {
        r.problem("body", m);
    }
    let max_parts = if sms { r.integer("max_parts", 3, 1, 10) as u32 } else { 1 };
    Some(ProviderConfig { url, auth_header, body, timeout: r.seconds("timeout_s", 10.0, 0.1, 120.0), max_parts })
}

fn sub<'t>(r: &mut Reader<'t, '_>, name: &str) -> Option<&'t Map<String, Value>> {
    match r.raw(name) {
        None => None,
        Some(Value::Object(t)) => Some(t),
        Some(other) => {
            r.problem(name, format!("expected a table, found {}", reader::kind(other)));
            None
        }
    }
}

/// `trunks` are the `[[trunks]]` names a policy may use.
pub(super) fn read(t: Option<&Map<String, Value>>, trunks: &[&str], problems: &mut Vec<Problem>) -> LeadApiConfig {
    let mut r = Reader::new(t, "lead_api", problems);
    let mut c = LeadApiConfig {
        rate_per_minute: r.integer("rate_per_minute", 30, 1, 1_000_000) as u32,
        token_ttl: r.seconds("token_ttl_s", 3600.0, 1.0, 7.0 * 86_400.0),
        cors_origins: r.strings("cors_origins").unwrap_or_default(),
        trust_forwarded_for: r.boolean("trust_forwarded_for", false),
        public_url: r.opt_string("public_url").map(|u| u.trim_end_matches('/').to_string()),
        link_ttl: r.seconds("link_ttl_s", 14.0 * 86_400.0, 60.0, 365.0 * 86_400.0),
        link_secret: r.opt_string("link_secret"),
        reconcile_interval: r.seconds("reconcile_interval_s", 10.0, 0.05, 3600.0),
        message_retry_base: r.seconds("message_retry_base_s", 5.0, 0.01, 3600.0),
        message_retry_max: r.seconds("message_retry_max_s", 600.0, 0.01, 86_400.0),
        message_horizon: r.seconds("message_horizon_s", 86_400.0, 1.0, 30.0 * 86_400.0),
        ..Default::default()
    };
    if let Some(u) = &c.public_url
        && let Err(m) = crate::events::check_url(u)
    {
        r.problem("public_url", m);
    }
    if c.link_secret.as_ref().is_some_and(|s| s.len() < 32) {
        r.problem("link_secret", "at least 32 characters");
    }
    for (i, o) in c.cors_origins.iter().enumerate() {
        if o != "*" && (crate::events::check_url(o).is_err() || o.trim_end_matches('/').matches('/').count() > 2) {
            r.problem(&format!("cors_origins[{i}]"), "an origin such as https://www.example.com, or \"*\"");
        }
    }
    let smtp = sub(&mut r, "smtp");
    let sms = sub(&mut r, "sms");
    let whatsapp = sub(&mut r, "whatsapp");
    let accounts = r.raw("accounts");
    let services = r.raw("services");
    r.finish();
    if let Some(t) = smtp {
        let mut r = Reader::new(Some(t), "lead_api.smtp", problems);
        c.smtp = read_smtp(&mut r);
        r.finish();
    }
    for (name, t, is_sms) in [("sms", sms, true), ("whatsapp", whatsapp, false)] {
        let Some(t) = t else { continue };
        let mut r = Reader::new(Some(t), format!("lead_api.{name}"), problems);
        let p = read_provider(&mut r, is_sms);
        r.finish();
        if is_sms { c.sms = p } else { c.whatsapp = p }
    }
    let base = default_policy();
    for (prefix, t) in reader::tables(accounts, "lead_api.accounts", problems) {
        let mut r = Reader::new(Some(t), prefix, problems);
        let key = r.required_string("account_key").unwrap_or_default();
        if !key.is_empty() && !crate::ids::valid_name(&key) {
            r.problem("account_key", "1 to 64 letters, digits, '-', '_' or '.'");
        } else if c.accounts.iter().any(|a| a.account_key == key) {
            r.problem("account_key", format!("{key:?} is used by another account"));
        }
        let client = r.string("client", crate::auth::DEFAULT_CLIENT);
        if !crate::ids::valid_name(&client) {
            r.problem("client", "1 to 64 letters, digits, '-', '_' or '.'");
        }
        let apikeys = r.strings("apikeys").unwrap_or_default();
        if apikeys.iter().any(|k| k.len() < 16) {
            r.problem("apikeys", "each key at least 16 characters");
        }
        let region = r.string("region", "US").to_ascii_uppercase();
        if !crate::leads::phone::valid_region(&region) {
            r.problem("region", format!("{region:?} is not an ISO 3166 region code such as US, GB or IL"));
        }
        let strict_numbers = r.boolean("strict_numbers", true);
        let policy = read_policy(&mut r, &base);
        r.finish();
        c.accounts.push(LeadAccount { account_key: key, client, apikeys, region, strict_numbers, policy });
    }
    for (prefix, t) in reader::tables(services, "lead_api.services", problems) {
        let mut r = Reader::new(Some(t), prefix, problems);
        let account_key = r.required_string("account_key").unwrap_or_default();
        let service_id = r.integer("service_id", 0, 0, i64::MAX as u64) as i64;
        if r.raw("service_id").is_none() {
            r.problem("service_id", "is required (the number web forms send)");
        }
        let Some(account) = c.accounts.iter().find(|a| a.account_key == account_key) else {
            r.problem("account_key", format!("no [[lead_api.accounts]] with account_key {account_key:?}"));
            continue;
        };
        if c.services.iter().any(|s| s.account_key == account_key && s.service_id == service_id) {
            r.problem("service_id", format!("{service_id} is configured twice for account {account_key:?}"));
        }
        let base = account.policy.clone();
        let name = r.string("name", &format!("service {service_id}"));
        let time_zone = r.string("time_zone", "UTC");
        if jiff::tz::TimeZone::get(&time_zone).is_err() {
            r.problem("time_zone", format!("{time_zone:?} is not a time zone of the system database"));
        }
        let schedule = r.opt_string("schedule");
        if schedule.as_ref().is_some_and(|s| !crate::ids::valid_name(s)) {
            r.problem("schedule", "1 to 64 letters, digits, '-', '_' or '.'");
        }
        let working_hours = match r.raw("working_hours") {
            None => None,
            Some(v) => match serde_json::from_value::<ScheduleSpec>(v.clone()) {
                Ok(spec) => {
                    if let Err(e) = crate::campaign::calendar::Schedule::from_spec(&spec) {
                        r.problem(&format!("working_hours.{}", e.field), e.message);
                    }
                    Some(spec)
                }
                Err(e) => {
                    r.problem("working_hours", e.to_string());
                    None
                }
            },
        };
        let policy = read_policy(&mut r, &base);
        if policy.trunks.is_empty() {
            r.problem("trunks", "name at least one [[trunks]] entry (here or in the account)");
        }
        for (j, name) in policy.trunks.iter().enumerate() {
            if !trunks.contains(&name.as_str()) {
                r.problem(&format!("trunks[{j}]"), format!("no [[trunks]] entry named {name:?}"));
            }
        }
        r.finish();
        c.services.push(LeadService { account_key, service_id, name, time_zone, schedule, working_hours, policy });
    }
    c
}
