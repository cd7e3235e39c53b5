//! Drives one outbound INVITE dialog through rsipstack and reports it as
//! [`LegEvent`]s.
//!
//! One task per leg: rsipstack's `do_invite_async` resolves only at the
//! final response and reports 1xx and in-dialog requests on a state channel
//! that the application must drain. Digest challenges are answered here
//! (see `digest.rs`), once per challenge, by resending the INVITE with the
//! same Call-ID and a higher CSeq (RFC 3261 §22.2).

use super::digest::{self, Challenge};
use super::endpoint::Shared;
use super::indialog::{self, Session};
use super::leg::{InviteRequest, LegCommand, LegEvent};
use super::reason::Q850;
use super::session_refresh;
use rsipstack::dialog::dialog::{DialogState, TerminatedReason};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Response, StatusCodeKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::debug;

pub(super) async fn run(
    shared: Arc<Shared>,
    req: InviteRequest,
    events: mpsc::Sender<LegEvent>,
    mut commands: mpsc::Receiver<LegCommand>,
) {
    let mut auth: Option<Header> = None;
    let mut answered_nonces: Vec<String> = Vec::new();
    let mut cancel_requested = false;
    let mut timer = req.session_timer;
    let mut retried_422 = false;

    let (dialog, confirmed_id, states, session) = loop {
        let option = match invite_option(&shared, &req, auth.take(), timer) {
            Ok(o) => o,
            Err(reason) => {
                let _ = events.send(LegEvent::Failed { status: None, reason }).await;
                return;
            }
        };
        let (state_tx, mut states) = shared.dialogs.new_dialog_state_channel();
        let (dialog, mut join) = match shared.dialogs.do_invite_async(option, state_tx) {
            Ok(x) => x,
            Err(e) => {
                let _ = events.send(LegEvent::Failed { status: None, reason: e.to_string() }).await;
                return;
            }
        };
        if cancel_requested {
            cancel(&dialog);
        }
        // An UPDATE before the answer is answered from our offer.
        let mut early = Some(Session::new(req.sdp_offer.clone(), None));
        let result = loop {
            tokio::select! {
                biased;
                Some(state) = states.recv() => on_state(state, &mut early, &events).await,
                res = &mut join => break res,
                cmd = commands.recv(), if !cancel_requested => {
                    // Before answer both commands mean CANCEL (§9.1).
                    if let Some(LegCommand::Cancel { reason: Some(r) } | LegCommand::Bye { reason: Some(r) }) = cmd {
                        shared.cancel_reasons.set_outgoing(&req.call_id, r);
                    }
                    cancel_requested = true;
                    cancel(&dialog);
                }
            }
        };
        // Progress reported before the final response is still queued.
        while let Ok(state) = states.try_recv() {
            on_state(state, &mut early, &events).await;
        }
        let outcome = match result {
            Ok(Ok((id, Some(resp)))) => {
                let status = resp.status_code.code();
                if resp.status_code.kind() == StatusCodeKind::Successful {
                    if matches!(dialog.state(), DialogState::Terminated(..)) {
                        Some(LegEvent::AnsweredAfterCancel)
                    } else {
                        let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
                        // What an early UPDATE settled carries on (its o= version).
                        let ours = early.take().map_or_else(|| req.sdp_offer.clone(), Session::into_ours);
                        let session = Session::new(ours, sdp.as_deref());
                        let _ = events.send(LegEvent::Answered { sdp }).await;
                        if let Some(n) = timer.and_then(|_| session_refresh::negotiated(&resp)) {
                            let _ = events.send(LegEvent::SessionRefreshed { negotiated: Some(n) }).await;
                        }
                        break (dialog, id, states, session);
                    }
                } else if let (422, Some(ask), false, false) = (status, timer, retried_422, cancel_requested)
                    && let Some(again) = session_refresh::after_422(ask, &resp)
                {
                    // RFC 4028 §7.3: once, with the interval the far end takes.
                    debug!(call = %req.call, expires = again.expires, "422: asking for a longer session interval");
                    timer = Some(again);
                    retried_422 = true;
                    continue;
                } else if (status == 401 || status == 407) && !cancel_requested {
                    match answer_challenge(&req, &resp, &mut answered_nonces) {
                        Some(header) => {
                            debug!(call = %req.call, status, "answering digest challenge");
                            auth = Some(header);
                            continue;
                        }
                        None => Some(rejected(&resp)),
                    }
                } else {
                    Some(rejected(&resp))
                }
            }
            Ok(Ok((_, None))) => Some(LegEvent::Failed {
                status: Some(408),
                reason: "no final response from the trunk (timer B)".into(),
            }),
            Ok(Err(e)) => Some(LegEvent::Failed { status: None, reason: e.to_string() }),
            Err(join_err) => Some(LegEvent::Failed { status: None, reason: format!("INVITE task failed: {join_err}") }),
        };
        if let Some(ev) = outcome {
            let _ = events.send(ev).await;
        }
        return;
    };
    established(shared, req, dialog, confirmed_id, (states, session), events, commands).await;
}

/// After the 2xx: serve in-dialog requests until either side hangs up.
async fn established(
    shared: Arc<Shared>,
    req: InviteRequest,
    dialog: InviteDialog,
    id: rsipstack::dialog::DialogId,
    (mut states, session): (rsipstack::dialog::dialog::DialogStateReceiver, Session),
    events: mpsc::Sender<LegEvent>,
    mut commands: mpsc::Receiver<LegCommand>,
) {
    let mut session = Some(session);
    loop {
        tokio::select! {
            biased;
            state = states.recv() => match state {
                Some(DialogState::Terminated(_, TerminatedReason::UasBye)) => {
                    let _ = events.send(LegEvent::RemoteBye { cause: shared.take_bye_cause(&id) }).await;
                    break;
                }
                Some(state) => {
                    indialog::serve(state, &mut session, &events).await;
                }
                None => {
                    let _ = events.send(LegEvent::Ended).await;
                    break;
                }
            },
            cmd = commands.recv() => {
                if let Some(LegCommand::Refresh { interval }) = cmd {
                    let (headers, body) = session_refresh::refresh_request(session.clone(), interval);
                    let d = dialog.clone();
                    session_refresh::spawn_refresh(async move { d.reinvite(Some(headers), body).await }, interval, events.clone());
                    continue;
                }
                let reason = match cmd { Some(LegCommand::Bye { reason }) => reason, _ => None };
                let result = match reason {
                    Some(r) => dialog.bye_with_reason(r).await,
                    None => dialog.bye().await,
                };
                if let Err(e) = result {
                    debug!(call = %req.call, error = %e, "BYE did not complete");
                }
                let _ = events.send(LegEvent::Ended).await;
                break;
            }
        }
    }
    shared.dialogs.remove_dialog(&id);
}

fn cancel(dialog: &InviteDialog) {
    let dialog = dialog.clone();
    tokio::spawn(async move {
        if let Err(e) = dialog.cancel().await {
            debug!(error = %e, "CANCEL did not complete");
        }
    });
}

/// Reports provisional responses and answers early in-dialog requests.
async fn on_state(state: DialogState, early: &mut Option<Session>, events: &mpsc::Sender<LegEvent>) {
    match indialog::serve(state, early, events).await {
        // §17.1.1.2: the trunk has the INVITE (failover's provisional timer).
        Some(DialogState::Trying(_)) => {
            let _ = events.send(LegEvent::Trying).await;
        }
        Some(DialogState::Early(_, resp)) => {
            let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
            let reason = reason_of(&resp);
            let _ = events.send(LegEvent::Progress { status: resp.status_code.code(), reason, sdp }).await;
        }
        _ => {}
    }
}

fn invite_option(
    shared: &Shared,
    req: &InviteRequest,
    auth: Option<Header>,
    timer: Option<session_refresh::Ask>,
) -> Result<InviteOption, String> {
    let callee =
        rsipstack::sip::Uri::try_from(req.request_uri().as_str()).map_err(|e| format!("bad Request-URI: {e}"))?;
    let from_host =
        req.advertised.map_or_else(|| shared.local_host(), |ip| SocketAddr::new(ip, shared.local.port()).to_string());
    let caller = rsipstack::sip::Uri::try_from(format!("sip:{}@{from_host}", req.from_user).as_str())
        .map_err(|e| format!("bad From: {e}"))?;
    let contact = rsipstack::sip::Uri::try_from(shared.contact(&req.from_user, req.transport, req.advertised).as_str())
        .map_err(|e| format!("bad Contact: {e}"))?;
    let destination = super::endpoint::destination(req.target, req.transport, req.tls_name.as_deref());
    Ok(InviteOption {
        caller_display_name: req.from_display.clone(),
        caller,
        callee,
        destination: Some(destination),
        content_type: Some("application/sdp".into()),
        offer: Some(req.sdp_offer.clone()),
        contact,
        call_id: Some(req.call_id.clone()),
        // The stack PRACKs any 18x with `Require: 100rel` (RFC 3262 §4);
        // this only says we support it.
        support_prack: req.supports_100rel,
        headers: Some(
            auth.into_iter()
                .chain(req.identity_headers.iter().map(|(n, v)| Header::Other(n.to_string(), v.clone())))
                .chain(timer.map(session_refresh::invite_headers).unwrap_or_default())
                .collect(),
        )
        .filter(|h: &Vec<Header>| !h.is_empty()),
        ..Default::default()
    })
}

/// Builds the Authorization/Proxy-Authorization for a challenge we have
/// not answered yet; `None` means the challenge is final (§22.2: a second
/// challenge for the same nonce means the credentials were refused).
fn answer_challenge(req: &InviteRequest, resp: &Response, answered: &mut Vec<String>) -> Option<Header> {
    let creds = req.credentials.as_ref()?;
    let proxy = resp.status_code.code() == 407;
    let values: Vec<&str> = resp
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::WwwAuthenticate(v) if !proxy => Some(v.value()),
            Header::ProxyAuthenticate(v) if proxy => Some(v.value()),
            _ => None,
        })
        .collect();
    let challenge = Challenge::strongest(values.iter().copied())?;
    if creds.realm.as_deref().is_some_and(|r| r != challenge.realm) {
        return None;
    }
    if answered.contains(&challenge.nonce) || (answered.len() >= 2 && !challenge.stale) {
        return None;
    }
    answered.push(challenge.nonce.clone());
    let cnonce = uuid::Uuid::new_v4().simple().to_string();
    let uri = req.request_uri();
    let value = digest::authorization(
        &challenge,
        &digest::Request {
            method: "INVITE",
            uri: &uri,
            username: &creds.username,
            password: &creds.password,
            cnonce: &cnonce,
            nc: 1,
        },
    );
    Some(if proxy { Header::ProxyAuthorization(value.into()) } else { Header::Authorization(value.into()) })
}

fn reason_of(resp: &Response) -> String {
    resp.wire_reason.clone().unwrap_or_else(|| resp.status_code.text().to_string())
}

fn rejected(resp: &Response) -> LegEvent {
    let status = resp.status_code.code();
    let retry_after = resp.headers.iter().find_map(|h| match h {
        Header::RetryAfter(v) => parse_retry_after(v.value()),
        _ => None,
    });
    let redirect_user = if (300..400).contains(&status) {
        resp.typed_contact_headers().ok().and_then(|c| c.first().and_then(|c| c.uri.user().map(str::to_string)))
    } else {
        None
    };
    let cause = resp.headers.iter().find_map(|h| match h {
        Header::Reason(v) => Q850::parse(v.value()),
        _ => None,
    });
    LegEvent::Rejected { status, reason: reason_of(resp), retry_after, redirect_user, cause }
}

/// `Retry-After: 120 (comment);duration=60` → 120 s (RFC 3261 §20.33).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let digits: String = v.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 5 (busy);duration=60"), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
