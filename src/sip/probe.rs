//! Out-of-dialog OPTIONS to a trunk (the keepalive of `trunk::keepalive`):
//! one client transaction through rsipstack; any final response means the
//! trunk is there (RFC 3261 §11: a 404 or 405 still proves it answers).

use super::endpoint::Shared;
use crate::config::SipTransport;
use rsipstack::sip::{Method, SipMessage, StatusCodeKind};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;
use std::net::SocketAddr;
use std::time::Duration;

/// The final status of an OPTIONS to `target` (Request-URI `sip:host`),
/// or why there was none within `timeout`.
pub(super) async fn options(
    shared: &Shared,
    target: SocketAddr,
    transport: SipTransport,
    host: &str,
    timeout: Duration,
) -> Result<u16, String> {
    let endpoint = &shared.dialogs.endpoint;
    let uri = rsipstack::sip::Uri::try_from(format!("sip:{host}").as_str()).map_err(|e| e.to_string())?;
    let local = rsipstack::sip::Uri::try_from(format!("sip:dialerd@{}", shared.local_host()).as_str())
        .map_err(|e| e.to_string())?;
    let dest = super::endpoint::destination(target, transport, None);
    // Via names the transport the request really travels on (§18.1.1).
    let mut via_addr = SipAddr::from(match transport {
        SipTransport::Udp => shared.listeners.udp,
        SipTransport::Tcp => shared.listeners.tcp.unwrap_or(shared.listeners.udp),
        SipTransport::Tls => shared.listeners.tls.unwrap_or(shared.listeners.udp),
    });
    via_addr.r#type = dest.r#type;
    let via = endpoint.get_via(Some(via_addr), None).map_err(|e| e.to_string())?;
    let from = rsipstack::sip::typed::From {
        display_name: None,
        uri: local,
        params: vec![rsipstack::sip::Param::Tag(format!("{:08x}", rand::random::<u32>()).into())],
    };
    let to = rsipstack::sip::typed::To { display_name: None, uri: uri.clone(), params: vec![] };
    let request = endpoint.make_request(Method::Options, uri, via, from, to, 1, None);
    let key = TransactionKey::from_request(&request, TransactionRole::Client).map_err(|e| e.to_string())?;
    let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
    tx.destination = Some(dest);
    let wait = async {
        tx.send().await.map_err(|e| e.to_string())?;
        while let Some(msg) = tx.receive().await {
            if let SipMessage::Response(r) = msg
                && r.status_code.kind() != StatusCodeKind::Provisional
            {
                return Ok(r.status_code.code());
            }
        }
        Err("the transaction ended without a final response".to_string())
    };
    tokio::time::timeout(timeout, wait).await.map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}
