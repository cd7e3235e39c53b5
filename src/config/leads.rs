//! `[lead_api]`: the Lucep-compatible lead API (seed 001). Accounts name a
//! client with its API keys and default dialling region; each lead service
//! (`service_id`) is a qualification campaign whose call and message
//! settings default to its account's. Message channels (SMTP, SMS and
//! WhatsApp providers) are shared by every account.

use super::Problem;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCallMe {
    /// The click confirms interest: the lead is qualified.
    Qualify,
    /// The click asks for a call: one is queued for the next working slot.
    Call,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    pub email_subject: String,
    pub email_text: String,
    pub sms: String,
    pub whatsapp: String,
}

/// How one qualification campaign calls and messages; set per account and
/// overridden per service.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadPolicy {
    pub dialplan: String,
    pub trunks: Vec<String>,
    pub caller_id: Option<String>,
    pub company: String,
    /// Calls per lead before it is rejected for no contact.
    pub attempts: u32,
    pub retry_interval: Duration,
    pub no_answer_timeout: Option<Duration>,
    pub calling_window: String,
    pub channels: Vec<Channel>,
    pub qualified_outcomes: Vec<String>,
    pub rejected_outcomes: Vec<String>,
    /// Rounds of messages per lead (each after a failed call).
    pub message_rounds: u32,
    pub on_call_me: OnCallMe,
    pub templates: Templates,
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

/// Variables a provider's JSON body may use (`part`/`parts` number the
/// parts of a split SMS).
pub const PROVIDER_VARS: [&str; 5] = ["to", "text", "validation_id", "part", "parts"];

/// Variables message templates may use.
pub const TEMPLATE_VARS: [&str; 7] = ["name", "company", "service_name", "link", "validation_id", "phone", "langcode"];

fn default_policy() -> LeadPolicy {
    LeadPolicy {
        dialplan: "lead-qualification".into(),
        trunks: Vec::new(),
        caller_id: None,
        company: "dialerd".into(),
        attempts: 3,
        retry_interval: Duration::from_secs(600),
        no_answer_timeout: None,
        calling_window: "08:00-21:00".into(),
        channels: vec![Channel::Email, Channel::Sms, Channel::Whatsapp],
        qualified_outcomes: vec!["qualified".into()],
        rejected_outcomes: vec!["rejected".into(), "opt_out".into()],
        message_rounds: 1,
        on_call_me: OnCallMe::Qualify,
        templates: Templates {
            email_subject: "{company}: please confirm your request".into(),
            email_text: "Hello {name},\n\nWe tried to call you about {service_name}. Tell us whether we should call \
                         you back or stop contacting you:\n\n{link}\n\n{company}"
                .into(),
            sms: "{company}: we tried to call you about {service_name}. Call back or stop? {link}".into(),
            whatsapp: "{company}: we tried to call you about {service_name}. Should we call you back? {link}".into(),
        },
    }
}

fn read_policy(r: &mut Reader<'_, '_>, base: &LeadPolicy) -> LeadPolicy {
    let channels = match r.strings("channels") {
        None => base.channels.clone(),
        Some(list) => {
            let mut out = Vec::new();
            for (i, c) in list.iter().enumerate() {
                match c.as_str() {
                    "email" => out.push(Channel::Email),
                    "sms" => out.push(Channel::Sms),
                    "whatsapp" => out.push(Channel::Whatsapp),
                    other => r.problem(&format!("channels[{i}]"), format!("{other:?} is not email, sms or whatsapp")),
                }
            }
            out
        }
    };
    let mut templates = base.templates.clone();
    for (key, slot) in [
        ("email_subject", &mut templates.email_subject),
        ("email_text", &mut templates.email_text),
        ("sms_text", &mut templates.sms),
        ("whatsapp_text", &mut templates.whatsapp),
    ] {
        if let Some(t) = r.opt_string(key) {
            if let Err(m) = crate::leads::template::check(&t, &TEMPLATE_VARS) {
                r.problem(key, m);
            }
            *slot = t;
        }
    }
    let policy = LeadPolicy {
        dialplan: r.string("dialplan", &base.dialplan),
        trunks: r.strings("trunks").unwrap_or_else(|| base.trunks.clone()),
        caller_id: r.opt_string("caller_id").or_else(|| base.caller_id.clone()),
        company: r.string("company", &base.company),
        attempts: r.integer("attempts", base.attempts as u64, 1, 100) as u32,
        retry_interval: r.seconds("retry_interval_s", base.retry_interval.as_secs_f64(), 0.0, 30.0 * 86_400.0),
        no_answer_timeout: match r.raw("no_answer_timeout_s") {
            None => base.no_answer_timeout,
            Some(_) => Some(r.seconds("no_answer_timeout_s", 30.0, 0.1, 600.0)),
        },
        calling_window: r.string("calling_window", &base.calling_window),
        channels,
        qualified_outcomes: r.strings("qualified_outcomes").unwrap_or_else(|| base.qualified_outcomes.clone()),
        rejected_outcomes: r.strings("rejected_outcomes").unwrap_or_else(|| base.rejected_outcomes.clone()),
        message_rounds: r.integer("message_rounds", base.message_rounds as u64, 0, 10) as u32,
        on_call_me: r.choice(
            "on_call_me",
            base.on_call_me,
            &[("qualify", OnCallMe::Qualify), ("call", OnCallMe::Call)],
        ),
        templates,
    };
    if let Err(m) = crate::campaign::calendar::Window::parse(&policy.calling_window) {
        r.problem("calling_window", m);
    }
    policy
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
