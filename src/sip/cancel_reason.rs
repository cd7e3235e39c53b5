//! `Reason` on CANCEL, both ways (RFC 3326). rsipstack builds our CANCEL
//! from the INVITE with no way to add a header, and consumes a caller's
//! CANCEL inside its INVITE transaction; its message inspector sees both
//! on the wire. Ours: the leg registers the value by Call-ID before it
//! cancels, and the inspector adds it as the CANCEL leaves. Theirs: the
//! inspector keeps the Q.850 cause of an incoming CANCEL by Call-ID for
//! the inbound leg to report with its 487.

use super::reason::Q850;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, SipMessage};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries a leg never took are dropped past this many (a bound, not a
/// cache: each entry lives for one CANCEL).
const MAX: usize = 4096;

#[derive(Default)]
pub(crate) struct CancelReasons {
    outgoing: Mutex<HashMap<String, String>>,
    incoming: Mutex<HashMap<String, Q850>>,
}

fn put<V>(map: &Mutex<HashMap<String, V>>, k: String, v: V) {
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    if m.len() >= MAX {
        m.clear();
    }
    m.insert(k, v);
}

impl CancelReasons {
    /// Our CANCEL for `call_id` will carry `reason` (a `Reason` value).
    pub fn set_outgoing(&self, call_id: &str, reason: String) {
        put(&self.outgoing, call_id.to_string(), reason);
    }

    /// The cause the caller's CANCEL gave, once.
    pub fn take_incoming(&self, call_id: &str) -> Option<Q850> {
        self.incoming.lock().unwrap_or_else(|e| e.into_inner()).remove(call_id)
    }
}

/// The inspector handed to rsipstack.
pub(crate) struct Inspector(pub Arc<CancelReasons>);

fn call_id(req: &rsipstack::sip::Request) -> Option<String> {
    req.call_id_header().ok().map(|c| c.value().to_string())
}

impl MessageInspector for Inspector {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        let SipMessage::Request(mut req) = msg else { return msg };
        if req.method == Method::Cancel
            && let Some(id) = call_id(&req)
        {
            // Kept for retransmissions of the same CANCEL; the map bounds it.
            let reason = self.0.outgoing.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
            if let Some(r) = reason
                && !req.headers.iter().any(|h| matches!(h, Header::Reason(_)))
            {
                req.headers.push(Header::Reason(r.into()));
            }
        }
        SipMessage::Request(req)
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        if let SipMessage::Request(req) = &msg
            && req.method == Method::Cancel
            && let Some(id) = call_id(req)
            && let Some(q) = req.headers.iter().find_map(|h| match h {
                Header::Reason(v) => Q850::parse(v.value()),
                _ => None,
            })
        {
            put(&self.0.incoming, id, q);
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cancel(extra: &str) -> SipMessage {
        let text = format!(
            "CANCEL sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: abc\r\nCSeq: 1 CANCEL\r\n{extra}\
             Content-Length: 0\r\n\r\n"
        );
        SipMessage::try_from(text.as_str()).unwrap()
    }

    fn reason_of(msg: &SipMessage) -> Option<String> {
        let SipMessage::Request(r) = msg else { return None };
        r.headers.iter().find_map(|h| match h {
            Header::Reason(v) => Some(v.value().to_string()),
            _ => None,
        })
    }

    #[test]
    fn ours_gets_its_reason_and_theirs_is_kept_once() {
        let reasons = Arc::new(CancelReasons::default());
        let i = Inspector(reasons.clone());
        assert_eq!(reason_of(&i.before_send(cancel(""), None)), None, "nothing registered");
        reasons.set_outgoing("abc", "Q.850;cause=19".into());
        assert_eq!(reason_of(&i.before_send(cancel(""), None)).as_deref(), Some("Q.850;cause=19"));
        // Retransmissions carry it too.
        assert_eq!(reason_of(&i.before_send(cancel(""), None)).as_deref(), Some("Q.850;cause=19"));

        i.after_received(cancel("Reason: Q.850;cause=31;text=\"Normal, unspecified\"\r\n"), None);
        assert_eq!(reasons.take_incoming("abc").map(|q| q.cause), Some(31));
        assert_eq!(reasons.take_incoming("abc"), None, "taken once");
        i.after_received(cancel("Reason: SIP;cause=200\r\n"), None);
        assert_eq!(reasons.take_incoming("abc"), None, "only Q.850 causes");
    }
}
