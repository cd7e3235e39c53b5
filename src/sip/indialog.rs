//! Requests inside a dialog of ours, outbound (`uac.rs`) or inbound
//! (`uas.rs`) alike: re-INVITE and UPDATE offers (RFC 3261 §14, RFC 3311),
//! INFO digits, OPTIONS, and the methods we refuse.
//!
//! Offers are answered here at once from the SDP we sent last (the
//! answer logic is `media::sdp::reanswer`, sans-IO); what the answer
//! settled goes to the call as [`LegEvent::Modified`], so the machine
//! sees hold, resume and codec changes after the far end has our answer.
//! An offer we cannot take gets 488 and the session goes on unchanged
//! (§14.2).

use super::leg::LegEvent;
use crate::media::dtmf::info_digit;
use crate::media::sdp::{self, Codec};
use rsipstack::dialog::dialog::DialogState;
use rsipstack::sip::{Header, Method, StatusCode};
use tokio::sync::mpsc;
use tracing::debug;

/// The media session as the leg knows it: the SDP we sent last and the
/// codec in use (kept on refreshes, RFC 3264 §8.3.2).
#[derive(Debug, Clone)]
pub(super) struct Session {
    ours: Vec<u8>,
    codec: Option<Codec>,
}

impl Session {
    /// `ours`: our offer (outbound) or answer (inbound); `settled`: the
    /// SDP that settled the codec (the far end's answer, or ours).
    pub(super) fn new(ours: Vec<u8>, settled: Option<&[u8]>) -> Self {
        let codec = settled.and_then(|s| sdp::negotiate(s).ok()).map(|n| n.codec);
        Self { ours, codec }
    }

    /// The SDP we sent last.
    pub(super) fn into_ours(self) -> Vec<u8> {
        self.ours
    }
}

/// Answers `state` when it is an in-dialog request and returns `None`;
/// any other state is handed back to the caller.
pub(super) async fn serve(
    state: DialogState,
    session: &mut Option<Session>,
    events: &mpsc::Sender<LegEvent>,
) -> Option<DialogState> {
    match state {
        DialogState::Updated(_, request, handle) => {
            let sdp_type = || Some(vec![Header::ContentType("application/sdp".into())]);
            let (status, headers, body, modified) = match session.as_mut() {
                // RFC 3311 §5.2: an offer crossing the one still open.
                None => (StatusCode::RequestPending, None, None, None),
                // An offerless re-INVITE: we offer what we have (its answer
                // comes in the ACK; we keep our media as it is).
                Some(s) if request.body.is_empty() && request.method == Method::Invite => {
                    (StatusCode::OK, sdp_type(), Some(s.ours.clone()), None)
                }
                Some(_) if request.body.is_empty() => (StatusCode::OK, None, None, None),
                Some(s) => match sdp::reanswer(&s.ours, s.codec, &request.body) {
                    Ok(r) => {
                        s.ours = r.sdp.into_bytes();
                        s.codec = Some(r.session.codec);
                        (StatusCode::OK, sdp_type(), Some(s.ours.clone()), Some(r.session))
                    }
                    Err(e) => {
                        debug!(method = %request.method, error = %e, "in-dialog offer refused");
                        (StatusCode::NotAcceptableHere, None, None, None)
                    }
                },
            };
            // RFC 4028 §9: a refresh's 2xx repeats its Session-Expires.
            let expires = request.headers.iter().find_map(|h| match h {
                Header::SessionExpires(v) => Some(v.value().to_string()),
                _ => None,
            });
            let ok = status == StatusCode::OK;
            let headers = match (&expires, ok) {
                (Some(v), true) => {
                    let v = if v.contains("refresher") { v.clone() } else { format!("{v};refresher=uac") };
                    Some(headers.unwrap_or_default().into_iter().chain([Header::SessionExpires(v.into())]).collect())
                }
                _ => headers,
            };
            if handle.respond(status, headers, body).await.is_err() {
                debug!("could not answer an in-dialog offer");
            }
            if let Some(session) = modified {
                let _ = events.send(LegEvent::Modified { session }).await;
            }
            // §10: any re-INVITE or UPDATE we answer 2xx refreshes the session.
            if ok {
                let _ = events.send(LegEvent::SessionRefreshed { negotiated: None }).await;
            }
        }
        DialogState::Info(_, request, handle) => {
            let content_type = request.headers.iter().find_map(|h| match h {
                Header::ContentType(v) => Some(v.value().to_string()),
                _ => None,
            });
            let _ = handle.reply(StatusCode::OK).await;
            if let Some(digit) = content_type.and_then(|ct| info_digit(&ct, &request.body)) {
                let _ = events.send(LegEvent::Dtmf { digit }).await;
            }
        }
        DialogState::Options(_, _, handle) => {
            let _ = handle.reply(StatusCode::OK).await;
        }
        DialogState::Notify(_, _, handle)
        | DialogState::Refer(_, _, handle)
        | DialogState::Message(_, _, handle)
        | DialogState::Publish(_, _, handle) => {
            let _ = handle.reply(StatusCode::MethodNotAllowed).await;
        }
        other => return Some(other),
    }
    None
}
