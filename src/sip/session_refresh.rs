//! RFC 4028 on the wire: the headers our INVITE carries, the 422 retry's
//! new interval, what a 2xx settled, and our refresh re-INVITE. When to
//! refresh and when a session has expired is the call machine's
//! (`call::session_timer`, sans-IO); this only speaks SIP.

use super::indialog::Session;
use super::leg::LegEvent;
use crate::call::session_timer::{Negotiated, parse_session_expires};
use rsipstack::sip::{Header, Response, StatusCodeKind};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::debug;

/// What we ask for: `Session-Expires` and `Min-SE` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub expires: u32,
    pub min_se: u32,
}

/// `Supported: timer`, `Session-Expires`, `Min-SE` (§7.1). We leave the
/// refresher to the UAS's choice, so we refresh only when told to.
pub(super) fn invite_headers(ask: Ask) -> Vec<Header> {
    vec![
        Header::Supported("timer".into()),
        Header::SessionExpires(ask.expires.to_string().into()),
        Header::MinSE(ask.min_se.to_string().into()),
    ]
}

/// §7.3: a 422 names the smallest interval the far end takes; the retry
/// asks for at least that. `None`: not a usable 422 (no Min-SE).
pub(super) fn after_422(ask: Ask, resp: &Response) -> Option<Ask> {
    let min: u32 = resp.headers.iter().find_map(|h| match h {
        Header::MinSE(v) => v.value().split(';').next()?.trim().parse().ok(),
        _ => None,
    })?;
    (min > ask.min_se || min > ask.expires).then(|| Ask { expires: ask.expires.max(min), min_se: min })
}

/// What a 2xx to our (re-)INVITE settled (§7.2): none when the far end
/// does not do session timers. Without a refresher parameter we refresh.
pub(super) fn negotiated(resp: &Response) -> Option<Negotiated> {
    let v = resp.headers.iter().find_map(|h| match h {
        Header::SessionExpires(v) => Some(v.value().to_string()),
        _ => None,
    })?;
    let (interval, uac_refreshes) = parse_session_expires(&v)?;
    Some(Negotiated { interval, we_refresh: uac_refreshes.unwrap_or(true) })
}

/// Our refresh (§7.4): a re-INVITE with the SDP we sent last.
pub(super) fn refresh_request(session: Option<Session>, interval: Duration) -> (Vec<Header>, Option<Vec<u8>>) {
    let secs = interval.as_secs().max(1);
    let mut headers =
        vec![Header::Supported("timer".into()), Header::SessionExpires(format!("{secs};refresher=uac").into())];
    let body = session.map(Session::into_ours);
    if body.is_some() {
        headers.push(Header::ContentType("application/sdp".into()));
    }
    (headers, body)
}

/// Runs the refresh `reinvite` off the leg's task; its outcome comes back
/// as an event: the interval settled again, or a failure that ends the
/// call (§10).
pub(super) fn spawn_refresh(
    reinvite: impl Future<Output = rsipstack::Result<Option<Response>>> + Send + 'static,
    interval: Duration,
    events: mpsc::Sender<LegEvent>,
) {
    tokio::spawn(async move {
        let ev = match reinvite.await {
            Ok(Some(r)) if r.status_code.kind() == StatusCodeKind::Successful => {
                // A 2xx without Session-Expires keeps the interval (§7.4).
                LegEvent::SessionRefreshed {
                    negotiated: Some(negotiated(&r).unwrap_or(Negotiated { interval, we_refresh: true })),
                }
            }
            Ok(Some(r)) => LegEvent::RefreshFailed { status: Some(r.status_code.code()) },
            Ok(None) => LegEvent::RefreshFailed { status: None },
            Err(e) => {
                debug!(error = %e, "session refresh failed");
                LegEvent::RefreshFailed { status: None }
            }
        };
        let _ = events.send(ev).await;
    });
}

/// Inbound (§9): the caller's INVITE asked for session timers: the
/// headers of our 2xx and what they settle. The caller refreshes unless
/// it asked us to (`refresher=uas`); we never ask for less than `min_se`.
pub(super) fn answer_terms(invite: &rsipstack::sip::Request, min_se: u32) -> Option<(Vec<Header>, Negotiated)> {
    let v = invite.headers.iter().find_map(|h| match h {
        Header::SessionExpires(v) => Some(v.value().to_string()),
        _ => None,
    })?;
    let (interval, uac_refreshes) = parse_session_expires(&v)?;
    let interval = interval.max(Duration::from_secs(min_se.into()));
    let we_refresh = uac_refreshes == Some(false);
    let who = if we_refresh { "uas" } else { "uac" };
    let headers = vec![
        Header::Require("timer".into()),
        Header::SessionExpires(format!("{};refresher={who}", interval.as_secs()).into()),
    ];
    Some((headers, Negotiated { interval, we_refresh }))
}
