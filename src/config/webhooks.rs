//! `[events]` and `[[webhooks]]`: operator webhooks (every client's events)
//! and the outbox's timers.

use super::Problem;
use super::reader::{self, Reader};
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EventsConfig {
    pub bus_capacity: usize,
    pub webhook_timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub retry_horizon: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    /// Only this client's events; every client's when absent.
    pub client: Option<String>,
}

pub(super) fn read_events(r: &mut Reader<'_, '_>) -> EventsConfig {
    let c = EventsConfig {
        bus_capacity: r.integer("bus_capacity", 65_536, 16, 16_777_216) as usize,
        webhook_timeout: r.seconds("webhook_timeout_s", 5.0, 0.05, 120.0),
        retry_base: r.seconds("retry_base_s", 1.0, 0.01, 3600.0),
        retry_max: r.seconds("retry_max_s", 300.0, 0.01, 86_400.0),
        retry_horizon: r.seconds("retry_horizon_s", 86_400.0, 0.1, 30.0 * 86_400.0),
    };
    if c.retry_max < c.retry_base {
        r.problem("retry_max_s", "must not be smaller than retry_base_s");
    }
    c
}

pub(super) fn read_webhooks(v: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<WebhookConfig> {
    let mut out: Vec<WebhookConfig> = Vec::new();
    for (prefix, table) in reader::tables(v, "webhooks", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let name = r.required_string("name");
        if let Some(n) = &name {
            if !crate::ids::valid_name(n) {
                r.problem("name", "1 to 64 letters, digits, '-', '_' or '.'");
            } else if out.iter().any(|w| &w.name == n) {
                r.problem("name", format!("{n:?} is used by another webhook"));
            }
        }
        let url = r.required_string("url");
        if let Some(u) = &url
            && let Err(m) = crate::events::check_url(u)
        {
            r.problem("url", m);
        }
        let events = r.strings("events").unwrap_or_default();
        if events.is_empty() {
            r.problem("events", "name at least one event type (\"call.*\", \"call.ended\", \"*\")");
        }
        for (j, e) in events.iter().enumerate() {
            if !crate::events::valid_pattern(e) {
                r.problem(&format!("events[{j}]"), format!("{e:?} is not an event type (docs/events.md)"));
            }
        }
        let secret = r.required_string("secret");
        if secret.as_ref().is_some_and(|s| s.len() < 16) {
            r.problem("secret", "at least 16 characters");
        }
        let client = r.opt_string("client");
        r.finish();
        if let (Some(name), Some(url), Some(secret)) = (name, url, secret) {
            out.push(WebhookConfig { name, url, events, secret, client });
        }
    }
    out
}
