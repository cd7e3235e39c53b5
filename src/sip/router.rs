//! Incoming requests that open no dialog of ours, and the hand-off of
//! in-dialog requests to rsipstack's dialog layer (the one routing map).
//!
//! Policy: OPTIONS → 200; INVITE from an IP that is not a trunk's → 403
//! and nothing else; INVITE from a trunk → the inbound handler (`uas.rs`
//! drives its dialog; 480 before the daemon sets a handler); in-dialog requests for unknown dialogs → 481; requests
//! that parse but break RFC 3261 rules → 400/416/420/415.

use super::digest_server::AuthFailure;
use super::endpoint::Shared;
use super::leg::{InboundHandler, InboundInvite, UacLeg};
use super::policy;
use super::reason::Q850;
use crate::metrics as m;
use rsipstack::dialog::DialogId;
use rsipstack::sip::ToTypedHeader;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

pub(super) async fn run(
    shared: Arc<Shared>,
    mut incoming: TransactionReceiver,
    trunk_sources: crate::config::SharedSources,
    cancel: CancellationToken,
) {
    loop {
        let mut tx = tokio::select! {
            _ = cancel.cancelled() => return,
            tx = incoming.recv() => match tx { Some(tx) => tx, None => return },
        };
        if let Some((status, reason, extra)) = check(&tx.original) {
            m::sip_rejected(reason);
            reply(&shared, tx, status, extra);
            continue;
        }
        // §17.1.1.3: ACK is never answered; the transaction layer absorbs
        // the ones it knows, the rest are strays.
        if tx.original.method == Method::Ack {
            continue;
        }
        let in_dialog = tx.original.to_header().ok().and_then(|t| t.tag().ok().flatten()).is_some();
        if in_dialog {
            match shared.dialogs.match_dialog(&tx) {
                Some(rsipstack::dialog::dialog::Dialog::Invite(mut dialog)) => {
                    if tx.original.method == Method::Bye {
                        remember_bye_cause(&shared, dialog.id(), &tx.original);
                    }
                    shared.tasks.spawn(async move {
                        if let Err(e) = dialog.handle(&mut tx).await {
                            debug!(error = %e, "in-dialog request failed");
                        }
                    });
                }
                _ => {
                    m::sip_rejected("unknown_dialog");
                    reply(&shared, tx, StatusCode::CallTransactionDoesNotExist, vec![]);
                }
            }
            continue;
        }
        // CANCEL without its INVITE is answered 481 by the transaction layer.
        if tx.original.method == Method::Cancel {
            continue;
        }
        let source = tx.connection.as_ref().and_then(|c| c.get_remote_addr()).and_then(|a| a.get_socketaddr().ok());
        let from_trunk = source.is_some_and(|s| trunk_sources.contains(s.ip()));
        let method = tx.original.method.to_string();
        if tx.original.method == Method::Invite
            && from_trunk
            && let (Some(handler), Some(source)) = (shared.inbound.get(), source)
        {
            inbound(&shared, handler.clone(), tx, source);
            continue;
        }
        let Some((code, reason)) = policy::answer(&method, false, from_trunk) else { continue };
        if let Some(r) = reason {
            m::sip_rejected(r);
        }
        if code == 403 {
            debug!(?source, "INVITE from a source that is not a trunk");
        }
        let headers = match code {
            200 => vec![Header::Allow(policy::ALLOW.into()), Header::Accept("application/sdp".into())],
            405 => vec![Header::Allow(policy::ALLOW.into())],
            _ => vec![],
        };
        reply(&shared, tx, StatusCode::from(code), headers);
    }
}

/// An INVITE from a trunk: authenticated when its trunk says so, then
/// its UAS leg starts and the handler routes it.
fn inbound(shared: &Arc<Shared>, handler: Arc<dyn InboundHandler>, tx: Transaction, source: std::net::SocketAddr) {
    if let Some(auth) = handler.credentials(source) {
        let answer = tx.original.headers.iter().find_map(|h| match h {
            Header::Authorization(v) => Some(v.value().to_string()),
            _ => None,
        });
        let now = jiff::Timestamp::now().as_second();
        let creds = (auth.username.as_str(), auth.password.as_str(), auth.algorithms.as_slice());
        match shared.auth.verify(answer.as_deref(), "INVITE", creds, now) {
            Ok(()) => {}
            Err(f @ (AuthFailure::Missing | AuthFailure::Stale)) => {
                m::sip_rejected(if f == AuthFailure::Stale { "auth_stale" } else { "auth_required" });
                let headers = shared
                    .auth
                    .challenges(&auth.algorithms, now, f == AuthFailure::Stale)
                    .into_iter()
                    .map(|c| Header::WwwAuthenticate(c.into()))
                    .collect();
                return reply(shared, tx, StatusCode::Unauthorized, headers);
            }
            Err(AuthFailure::Bad(why)) => {
                m::sip_rejected("auth_failed");
                debug!(?source, why, "a trunk's INVITE failed authentication");
                return reply(shared, tx, StatusCode::Forbidden, vec![]);
            }
        }
    }
    let req = &tx.original;
    let user_of = |u: &rsipstack::sip::Uri| u.user().map(str::to_string).unwrap_or_default();
    let from = req.from_header().ok().and_then(|f| f.typed().ok());
    let invite = InboundInvite {
        did: user_of(&req.uri),
        caller: from.as_ref().map(|f| user_of(&f.uri)).unwrap_or_default(),
        caller_display: from.and_then(|f| f.display_name.clone()).filter(|d| !d.is_empty()),
        source,
        sdp_offer: (!req.body.is_empty()).then(|| req.body.clone()),
    };
    let (leg, events, commands) = UacLeg::channel();
    shared.tasks.spawn(super::uas::run(shared.clone(), tx, events, commands));
    handler.incoming(invite, leg);
}

/// Sends a final response and keeps the transaction alive until it ends,
/// so an INVITE's error response is retransmitted until ACKed (§17.2.1).
fn reply(shared: &Shared, mut tx: Transaction, status: StatusCode, headers: Vec<Header>) {
    shared.tasks.spawn(async move {
        if let Err(e) = tx.reply_with(status, headers, None).await {
            debug!(error = %e, "could not send a response");
            return;
        }
        if tx.original.method == Method::Invite {
            while tx.receive().await.is_some() {}
        }
    });
}

/// RFC 3261 checks the parser leaves to the UAS (§8.2).
fn check(req: &Request) -> Option<(StatusCode, &'static str, Vec<Header>)> {
    let bad = |why| Some((StatusCode::BadRequest, why, vec![]));
    if req.from_header().is_err() || req.to_header().is_err() || req.call_id_header().is_err() {
        return bad("missing_header");
    }
    match req.cseq_header().and_then(|c| c.method()) {
        Ok(m) if m == req.method => {}
        _ => return bad("cseq_mismatch"),
    }
    // Single-valued headers given twice (RFC 4475 §3.3.8, §3.3.9).
    let count = |f: fn(&Header) -> bool| req.headers.iter().filter(|h| f(h)).count();
    if count(|h| matches!(h, Header::ContentLength(_))) > 1
        || count(|h| matches!(h, Header::CallId(_))) > 1
        || count(|h| matches!(h, Header::From(_))) > 1
        || count(|h| matches!(h, Header::To(_))) > 1
        || count(|h| matches!(h, Header::CSeq(_))) > 1
    {
        return bad("duplicate_header");
    }
    // §8.2.2.1: only sip/sips URIs reach us.
    if !matches!(req.uri.scheme, Some(rsipstack::sip::Scheme::Sip) | Some(rsipstack::sip::Scheme::Sips)) {
        return Some((StatusCode::UnsupportedUriScheme, "unsupported_uri_scheme", vec![]));
    }
    // §8.2.2.3: we implement no extension a peer may require.
    if req.method != Method::Ack && req.method != Method::Cancel {
        let required: Vec<String> = req
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Require(v) => Some(v.value().to_string()),
                _ => None,
            })
            .collect();
        if !required.is_empty() {
            let list = required.join(", ");
            return Some((StatusCode::BadExtension, "bad_extension", vec![Header::Unsupported(list.into())]));
        }
    }
    // §8.2.3: INVITE bodies we can read.
    if req.method == Method::Invite {
        let ct = req.headers.iter().find_map(|h| match h {
            Header::ContentType(v) => Some(v.value().to_ascii_lowercase()),
            _ => None,
        });
        if let Some(ct) = ct
            && !req.body.is_empty()
            && !ct.starts_with("application/sdp")
        {
            return Some((
                StatusCode::UnsupportedMediaType,
                "unsupported_media_type",
                vec![Header::Accept("application/sdp".into())],
            ));
        }
    }
    None
}

/// The Q.850 cause of a BYE handed to its dialog, kept in `Shared` for
/// the dialog's leg to take when it reports the hang-up (rsipstack's
/// `Terminated` state carries no request). Written before the dialog sees
/// the BYE, so the leg always finds it.
fn remember_bye_cause(shared: &Shared, id: DialogId, req: &Request) {
    if let Some(cause) = req.headers.iter().find_map(|h| match h {
        Header::Reason(v) => Q850::parse(v.value()),
        _ => None,
    }) {
        shared.remember_bye_cause(id, cause);
    }
}
