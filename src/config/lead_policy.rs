//! How a lead service calls and messages (`[[lead_api.accounts]]` keys,
//! overridable per `[[lead_api.services]]` entry): dialplan, trunks,
//! attempts, windows, channels, outcomes and message templates.

use super::reader::Reader;
use std::time::Duration;

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

/// Variables a provider's JSON body may use (`part`/`parts` number the
/// parts of a split SMS).
pub const PROVIDER_VARS: [&str; 5] = ["to", "text", "validation_id", "part", "parts"];

/// Variables message templates may use.
pub const TEMPLATE_VARS: [&str; 7] = ["name", "company", "service_name", "link", "validation_id", "phone", "langcode"];

pub(super) fn default_policy() -> LeadPolicy {
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

pub(super) fn read_policy(r: &mut Reader<'_, '_>, base: &LeadPolicy) -> LeadPolicy {
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
