//! Drives one inbound INVITE dialog (from a trunk) through rsipstack's
//! server dialog and reports it as [`LegEvent`]s; the application answers
//! with [`LegCommand`]s: ring, answer with SDP, reject, bye.
//!
//! rsipstack's `handle` runs the INVITE server transaction (100 Trying,
//! the ACK of our 2xx, CANCEL → 487, RFC 3261 §9.2, §13.3.1); the dialog
//! state channel says how the dialog ends. In-dialog requests reach the
//! dialog through the router's `match_dialog`.

use super::endpoint::Shared;
use super::indialog::{self, Session};
use super::leg::{LegCommand, LegEvent};
use super::session_refresh;
use rsipstack::dialog::dialog::{DialogState, TerminatedReason};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::debug;

pub(super) async fn run(
    shared: Arc<Shared>,
    mut tx: Transaction,
    events: mpsc::Sender<LegEvent>,
    mut commands: mpsc::Receiver<LegCommand>,
) {
    let (state_tx, mut states) = shared.dialogs.new_dialog_state_channel();
    let contact = rsipstack::sip::Uri::try_from(format!("sip:dialerd@{}", shared.local_host()).as_str()).ok();
    let dialog = match shared.dialogs.get_or_create_server_invite(&tx, state_tx, None, contact) {
        Ok(d) => d,
        Err(e) => {
            debug!(error = %e, "cannot open an inbound dialog");
            let _ = tx.reply(StatusCode::ServerInternalError).await;
            let _ = events.send(LegEvent::Failed { status: Some(500), reason: e.to_string() }).await;
            return;
        }
    };
    let id = dialog.id();
    let call_id = dialog.initial_request().call_id_header().map(|c| c.value().to_string()).unwrap_or_default();
    let mut serving = dialog.clone();
    shared.tasks.spawn(async move {
        if let Err(e) = serving.handle(&mut tx).await {
            debug!(error = %e, "inbound INVITE transaction ended with an error");
        }
    });
    // Our answer, the base of in-dialog answers (RFC 4028 §9: a refresh
    // gets it unchanged).
    let mut session: Option<Session> = None;
    let mut commands_open = true;
    loop {
        tokio::select! {
            biased;
            state = states.recv() => match state {
                // §9.2: the caller gave up before we answered.
                Some(DialogState::Terminated(_, TerminatedReason::UacCancel)) => {
                    let ev = LegEvent::Rejected {
                        status: 487,
                        reason: "the caller cancelled".into(),
                        retry_after: None,
                        redirect_user: None,
                        // Kept by the message inspector (`cancel_reason.rs`).
                        cause: shared.cancel_reasons.take_incoming(&call_id),
                    };
                    let _ = events.send(ev).await;
                    break;
                }
                // §15.1.2: the caller hung up.
                Some(DialogState::Terminated(id, TerminatedReason::UacBye)) => {
                    let _ = events.send(LegEvent::RemoteBye { cause: shared.take_bye_cause(&id) }).await;
                    break;
                }
                Some(DialogState::Terminated(_, why)) => {
                    debug!(?why, "inbound dialog ended");
                    let _ = events.send(LegEvent::Ended).await;
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
            cmd = commands.recv(), if commands_open => match cmd {
                Some(LegCommand::Ring) => {
                    let _ = dialog.ringing(None, None);
                }
                Some(LegCommand::Answer { sdp }) => {
                    let mut headers = vec![Header::ContentType("application/sdp".into())];
                    let terms = session_refresh::answer_terms(&dialog.initial_request(), shared.min_se);
                    headers.extend(terms.iter().flat_map(|(h, _)| h.clone()));
                    if let Err(e) = dialog.accept(Some(headers), Some(sdp.clone())) {
                        let _ = events.send(LegEvent::Failed { status: None, reason: e.to_string() }).await;
                        break;
                    }
                    session = Some(Session::new(sdp.clone(), Some(&sdp)));
                    if let Some((_, n)) = terms {
                        let _ = events.send(LegEvent::SessionRefreshed { negotiated: Some(n) }).await;
                    }
                }
                Some(LegCommand::Refresh { interval }) => {
                    let (headers, body) = session_refresh::refresh_request(session.clone(), interval);
                    let d = dialog.clone();
                    session_refresh::spawn_refresh(async move { d.reinvite(Some(headers), body).await }, interval, events.clone());
                }
                Some(LegCommand::Reject { status, reason }) => {
                    let _ = dialog.reject(Some(StatusCode::from(status)), reason);
                }
                Some(LegCommand::Cancel { .. }) | Some(LegCommand::Bye { .. }) | None if session.is_none() => {
                    commands_open = false;
                    let _ = dialog.reject(Some(StatusCode::TemporarilyUnavailable), None);
                }
                Some(LegCommand::Cancel { .. }) | Some(LegCommand::Bye { .. }) | None => {
                    let reason = match cmd { Some(LegCommand::Bye { reason }) => reason, _ => None };
                    let result = match reason {
                        Some(r) => dialog.bye_with_reason(r).await,
                        None => dialog.bye().await,
                    };
                    if let Err(e) = result {
                        debug!(error = %e, "BYE did not complete");
                    }
                    let _ = events.send(LegEvent::Ended).await;
                    break;
                }
            },
        }
    }
    shared.dialogs.remove_dialog(&id);
}
