//! The durable message queue's sender: email over SMTP, SMS and WhatsApp
//! through HTTP providers. Messages were rendered and stored with the
//! lead's step (`lead_messages`), so a crash loses none; each is sent until
//! it succeeds, fails permanently (a bad address, a 4xx from the provider)
//! or outlives `[lead_api] message_horizon_s`, retrying with exponential
//! backoff. Each outcome is a `lead.messaged` event.

use super::mail::{Mailer, Security, SmtpSettings};
use super::provider::{Provider, ProviderSettings, SendError};
use crate::config::leads::{LeadApiConfig, ProviderConfig, SmtpSecurity};
use crate::events::{EventBus, EventOut};
use crate::metrics as m;
use crate::pii::Redacted;
use crate::store::{MessageRow, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub struct Messenger {
    store: Arc<dyn Store>,
    events: EventBus,
    mailer: Option<Mailer>,
    sms: Option<Provider>,
    whatsapp: Option<Provider>,
    retry_base: Duration,
    retry_max: Duration,
    horizon: Duration,
}

fn provider(p: &ProviderConfig, client: &reqwest::Client) -> Provider {
    Provider::new(
        ProviderSettings {
            url: p.url.clone(),
            auth_header: p.auth_header.clone(),
            body_template: p.body.clone(),
            timeout: p.timeout,
        },
        client.clone(),
    )
}

impl Messenger {
    pub fn new(cfg: &LeadApiConfig, store: Arc<dyn Store>, events: EventBus) -> Result<Messenger, SendError> {
        let mailer = match &cfg.smtp {
            None => None,
            Some(s) => Some(Mailer::new(&SmtpSettings {
                host: s.host.clone(),
                port: s.port,
                security: match s.security {
                    SmtpSecurity::None => Security::None,
                    SmtpSecurity::StartTls => Security::StartTls,
                    SmtpSecurity::Tls => Security::Tls,
                },
                username: s.username.clone(),
                password: s.password.clone(),
                from: s.from.clone(),
                timeout: s.timeout,
                accept_invalid_certs: s.accept_invalid_certs,
            })?),
        };
        let client = reqwest::Client::builder().build().map_err(|e| SendError::Transport(e.to_string()))?;
        Ok(Messenger {
            store,
            events,
            mailer,
            sms: cfg.sms.as_ref().map(|p| provider(p, &client)),
            whatsapp: cfg.whatsapp.as_ref().map(|p| provider(p, &client)),
            retry_base: cfg.message_retry_base,
            retry_max: cfg.message_retry_max,
            horizon: cfg.message_horizon,
        })
    }

    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        loop {
            let now = jiff::Timestamp::now().as_millisecond();
            let due = match self.store.messages_due(now, 50).await {
                Ok(d) => d,
                Err(e) => {
                    warn!(error = %e, "cannot read the message queue");
                    Vec::new()
                }
            };
            let busy = !due.is_empty();
            for msg in due {
                if stop.is_cancelled() {
                    return;
                }
                self.deliver(msg).await;
            }
            if busy {
                continue;
            }
            let next = self.store.message_next_due().await.ok().flatten();
            let wait = next.map_or(Duration::from_secs(60), |at| {
                Duration::from_millis((at - jiff::Timestamp::now().as_millisecond()).clamp(0, 60_000) as u64)
            });
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    async fn send(&self, msg: &MessageRow) -> Result<(), SendError> {
        let body: serde_json::Value =
            serde_json::from_str(&msg.body).map_err(|e| SendError::Template(format!("stored body: {e}")))?;
        let text = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let missing = |c: &str| SendError::Config(format!("no [lead_api.{c}] is configured"));
        let mut vars = BTreeMap::new();
        vars.insert("to".to_string(), msg.recipient.clone());
        vars.insert("validation_id".to_string(), msg.lead.to_string());
        match msg.channel.as_str() {
            "email" => {
                let mailer = self.mailer.as_ref().ok_or_else(|| missing("smtp"))?;
                mailer.send(&msg.recipient, &text("subject"), &text("text"), None).await
            }
            "sms" => {
                let p = self.sms.as_ref().ok_or_else(|| missing("sms"))?;
                let parts: Vec<String> = body
                    .get("parts")
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                // One provider request per part, in order; a retry resends
                // every part (the provider cannot tell us which arrived).
                let n = parts.len();
                for (i, part) in parts.into_iter().enumerate() {
                    vars.insert("text".to_string(), part);
                    vars.insert("part".to_string(), (i + 1).to_string());
                    vars.insert("parts".to_string(), n.to_string());
                    p.send(&vars).await?;
                }
                Ok(())
            }
            "whatsapp" => {
                let p = self.whatsapp.as_ref().ok_or_else(|| missing("whatsapp"))?;
                vars.insert("text".to_string(), text("text"));
                p.send(&vars).await
            }
            other => Err(SendError::Template(format!("unknown channel {other:?}"))),
        }
    }

    async fn deliver(&self, msg: MessageRow) {
        let now = jiff::Timestamp::now().as_millisecond();
        let channel: &'static str = match msg.channel.as_str() {
            "email" => "email",
            "sms" => "sms",
            _ => "whatsapp",
        };
        let result = self.send(&msg).await;
        let (state, error): (&str, Option<String>) = match &result {
            Ok(()) => ("sent", None),
            Err(e) if e.permanent() => ("failed", Some(e.to_string())),
            Err(e) if now - msg.created_at > self.horizon.as_millis() as i64 => {
                ("failed", Some(format!("{e} (gave up)")))
            }
            Err(e) => ("retry", Some(e.to_string())),
        };
        m::lead_message(channel, state);
        let stored = match (state, &error) {
            ("sent", _) => self.store.message_sent(msg.id, now).await,
            ("retry", Some(e)) => {
                let backoff = self.retry_base.saturating_mul(1u32 << msg.attempts.clamp(0, 20)).min(self.retry_max);
                self.store.message_retry(msg.id, now + backoff.as_millis() as i64, e).await
            }
            (_, e) => self.store.message_failed(msg.id, e.as_deref().unwrap_or("failed")).await,
        };
        if let Err(e) = stored {
            warn!(error = %e, message = msg.id, "cannot record a message's delivery");
        }
        match state {
            "retry" => warn!(lead = %msg.lead, channel, error = ?error, "lead message failed; will retry"),
            _ => info!(lead = %msg.lead, channel, to = %Redacted(&msg.recipient), state, "lead message"),
        }
        if state != "retry" {
            self.publish(&msg, state, error).await;
        }
    }

    async fn publish(&self, msg: &MessageRow, state: &str, error: Option<String>) {
        let Ok(Some(lead)) = self.store.lead(msg.lead).await else { return };
        let data = serde_json::json!({"channel": msg.channel, "state": state, "error": error, "message_id": msg.id});
        let mut e = EventOut::new("lead.messaged", msg.attempts as u64 + 1, data);
        e.client = Some(lead.client.clone());
        e.campaign_id = lead.campaign;
        e.lead_id = Some(lead.id.to_string());
        self.events.publish(e);
    }
}
