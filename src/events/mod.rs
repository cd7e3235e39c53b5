//! The event bus: every call, campaign and record change becomes a typed
//! [`EventOut`] with a unique `id` and, per call, a sequence number.
//! Publishing never blocks: the bus is a bounded broadcast channel, so a
//! consumer that falls more than `[events] bus_capacity` events behind
//! loses the oldest ones, and that loss is counted
//! (`dialerd_events_lagged_total`) and logged. Durable delivery (status
//! webhooks) starts at the outbox (`outbox.rs`), whose writer drains the
//! bus in batches. The catalogue of types is in `docs/events.md`.

pub mod outbox;
pub mod pops;
pub mod screenpop;
pub mod sign;

use crate::ids::{CallId, CampaignId, ClientId, RecordId};
use jiff::Timestamp;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast;

/// One event as consumers and webhook receivers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventOut {
    /// Unique (UUIDv7): receivers de-duplicate by it.
    pub id: String,
    /// `call.ringing`, `campaign.state_changed`, ... (docs/events.md).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Per call: 1, 2, 3... in the order the call produced them; per
    /// campaign for campaign events.
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub call_id: Option<CallId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub campaign_id: Option<CampaignId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub record_id: Option<RecordId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_to_call_id: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The tenant; not sent (a receiver belongs to one client).
    #[serde(skip)]
    pub client: Option<ClientId>,
}

impl EventOut {
    pub fn new(kind: &'static str, seq: u64, data: serde_json::Value) -> Self {
        EventOut {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            at: Timestamp::now(),
            seq,
            call_id: None,
            campaign_id: None,
            record_id: None,
            lead_id: None,
            click_to_call_id: None,
            data,
            client: None,
        }
    }

    /// Events of one call (or campaign) are delivered in order; this is
    /// the group they are ordered in.
    pub fn group(&self) -> String {
        match (self.call_id, self.campaign_id, &self.click_to_call_id) {
            (Some(c), _, _) => format!("call:{c}"),
            (None, Some(c), _) => format!("campaign:{c}"),
            (None, None, Some(c)) => format!("click_to_call:{c}"),
            _ => format!("event:{}", self.id),
        }
    }
}

/// Every type dialerd emits (`docs/events.md`); subscriptions are checked
/// against it.
pub const TYPES: &[&str] = &[
    "call.queued",
    "call.dialing",
    "call.ringing",
    "call.early_media",
    "call.answered",
    "call.dtmf",
    "call.amd",
    "call.sit",
    "call.ended",
    "campaign.state_changed",
    "record.attempted",
    "record.final",
    "lead.created",
    "lead.qualified",
    "lead.rejected",
    "lead.messaged",
    "click_to_call.scheduled",
    "click_to_call.requested",
    "click_to_call.agent_ringing",
    "click_to_call.agent_answered",
    "click_to_call.customer_ringing",
    "click_to_call.connected",
    "click_to_call.completed",
    "click_to_call.failed",
];

/// A subscription pattern: an exact type, `call.*`, or `*`.
pub fn matches(pattern: &str, kind: &str) -> bool {
    pattern == "*" || pattern == kind || pattern.strip_suffix(".*").is_some_and(|p| kind.split('.').next() == Some(p))
}

pub fn valid_pattern(p: &str) -> bool {
    p == "*"
        || TYPES.contains(&p)
        || p.strip_suffix(".*").is_some_and(|pre| TYPES.iter().any(|t| t.starts_with(&format!("{pre}."))))
}

/// A webhook URL: http or https, a host, no credentials in it.
pub fn check_url(u: &str) -> Result<(), String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err("has no host".into());
    }
    if authority.contains('@') {
        return Err("must not carry credentials (use the signature secret)".into());
    }
    if u.len() > 2048 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be at most 2048 characters without spaces".into());
    }
    Ok(())
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<EventOut>>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        EventBus { tx: broadcast::channel(capacity.max(16)).0 }
    }

    /// Never blocks; with no subscriber the event is dropped.
    pub fn publish(&self, e: EventOut) {
        crate::metrics::event_published(e.kind);
        let _ = self.tx.send(Arc::new(e));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventOut>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*", "call.ended"));
        assert!(matches("call.*", "call.ended"));
        assert!(!matches("call.*", "campaign.state_changed"));
        assert!(matches("record.final", "record.final"));
        assert!(valid_pattern("call.*") && valid_pattern("call.ringing") && !valid_pattern("call.nope"));
        assert!(!valid_pattern("calls.*"));
    }

    #[test]
    fn the_wire_shape() {
        let mut e = EventOut::new("call.ringing", 2, serde_json::json!({"sip_status": 180}));
        e.call_id = Some(CallId::new());
        e.client = Some(ClientId("acme".into()));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "call.ringing");
        assert_eq!(v["seq"], 2);
        assert!(v.get("client").is_none() && v.get("campaign_id").is_none());
        assert_eq!(v["data"]["sip_status"], 180);
        assert!(e.group().starts_with("call:"));
    }
}
