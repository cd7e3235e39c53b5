//! The table of calls the API can see: live calls (their view and command
//! channel) and ended calls kept for `[calls] retention_s`, bounded by
//! `retain_max` so a burst cannot exhaust memory.

use super::view::{CallState, CallView};
use crate::ids::{CallId, ClientId};
use dashmap::DashMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

#[derive(Debug)]
pub enum CallCommand {
    Hangup,
    /// Join this answered call to another (`call::bridge`); the reply says
    /// whether this call could take part.
    Bridge(super::bridge::BridgeEnd, tokio::sync::oneshot::Sender<Result<(), &'static str>>),
    /// The call a `transfer` node asked for could not be bridged.
    TransferFailed(String),
}

struct Entry {
    /// The tenant that placed the call; the API shows a call to it only.
    client: Option<ClientId>,
    view: watch::Receiver<CallView>,
    commands: mpsc::Sender<CallCommand>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HangupError {
    NotFound,
    AlreadyEnded,
}

/// A screen pop's result, kept beside the call's view (the view has one
/// writer, the call's actor; the pop runs on its own task).
pub type CrmResult = Result<crate::events::screenpop::CrmInfo, String>;

pub struct CallRegistry {
    calls: DashMap<CallId, Entry>,
    crm: DashMap<CallId, CrmResult>,
    ended: Mutex<VecDeque<(Instant, CallId)>>,
    retention: Duration,
    retain_max: usize,
}

impl CallRegistry {
    pub fn new(retention: Duration, retain_max: usize) -> Self {
        Self { calls: DashMap::new(), crm: DashMap::new(), ended: Mutex::new(VecDeque::new()), retention, retain_max }
    }

    pub fn insert(
        &self,
        id: CallId,
        client: Option<ClientId>,
        view: watch::Receiver<CallView>,
        commands: mpsc::Sender<CallCommand>,
    ) {
        self.calls.insert(id, Entry { client, view, commands });
    }

    /// Whether `client` may see the call (another tenant's call is as good
    /// as unknown: 404, not 403, so ids cannot be probed).
    pub fn belongs_to(&self, id: &CallId, client: &ClientId) -> bool {
        self.calls.get(id).is_some_and(|e| e.client.as_ref().is_none_or(|c| c == client))
    }

    pub fn view(&self, id: &CallId) -> Option<CallView> {
        let mut v = self.calls.get(id).map(|e| e.view.borrow().clone())?;
        if let Some(r) = self.crm.get(id) {
            match r.value() {
                Ok(info) => v.crm = Some(info.clone()),
                Err(e) => v.crm_error = Some(e.clone()),
            }
        }
        Some(v)
    }

    /// Records a screen pop's result for a known call.
    pub fn set_crm(&self, id: CallId, r: CrmResult) {
        if self.calls.contains_key(&id) {
            self.crm.insert(id, r);
        }
    }

    pub fn hangup(&self, id: &CallId) -> Result<(), HangupError> {
        let entry = self.calls.get(id).ok_or(HangupError::NotFound)?;
        if entry.view.borrow().state == CallState::Ended {
            return Err(HangupError::AlreadyEnded);
        }
        match entry.commands.try_send(CallCommand::Hangup) {
            // Full: a hangup is already queued, which is what we want.
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(HangupError::AlreadyEnded),
        }
    }

    /// Hands one end of a bridge to the call's actor.
    pub fn bridge(
        &self,
        id: &CallId,
        end: super::bridge::BridgeEnd,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<(), &'static str>>, HangupError> {
        let entry = self.calls.get(id).ok_or(HangupError::NotFound)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        entry.commands.try_send(CallCommand::Bridge(end, tx)).map_err(|_| HangupError::AlreadyEnded)?;
        Ok(rx)
    }

    /// Tells a call its transfer failed (ignored if it has ended).
    pub fn transfer_failed(&self, id: &CallId, reason: String) {
        if let Some(e) = self.calls.get(id) {
            let _ = e.commands.try_send(CallCommand::TransferFailed(reason));
        }
    }

    /// Called by the actor when its call ended; starts the retention clock.
    pub fn ended(&self, id: CallId, now: Instant) {
        let mut ended = self.ended.lock().unwrap();
        ended.push_back((now, id));
        while ended.len() > self.retain_max {
            if let Some((_, old)) = ended.pop_front() {
                self.calls.remove(&old);
                self.crm.remove(&old);
            }
        }
    }

    /// Forgets ended calls older than the retention period.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut removed = 0;
        let mut ended = self.ended.lock().unwrap();
        while ended.front().is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.retention) {
            let (_, id) = ended.pop_front().expect("checked");
            self.calls.remove(&id);
            self.crm.remove(&id);
            removed += 1;
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(r: &CallRegistry) -> (CallId, watch::Sender<CallView>, mpsc::Receiver<CallCommand>) {
        let id = CallId::new();
        let (vt, vr) = watch::channel(CallView::new(id, "+1555".into(), "t".into()));
        let (ct, cr) = mpsc::channel(1);
        r.insert(id, Some(ClientId("acme".into())), vr, ct);
        (id, vt, cr)
    }

    #[test]
    fn a_call_belongs_to_the_client_that_placed_it() {
        let r = CallRegistry::new(Duration::from_secs(3600), 10);
        let (id, _view, _cmds) = add(&r);
        assert!(r.belongs_to(&id, &ClientId("acme".into())));
        assert!(!r.belongs_to(&id, &ClientId("globex".into())), "another tenant's call is unknown to it");
        assert!(!r.belongs_to(&CallId::new(), &ClientId("acme".into())));
    }

    #[test]
    fn hangup_reaches_the_actor_once_and_not_after_the_end() {
        let r = CallRegistry::new(Duration::from_secs(3600), 10);
        let (id, view, mut cmds) = add(&r);
        assert_eq!(r.hangup(&id), Ok(()));
        assert_eq!(r.hangup(&id), Ok(()), "a second request while one is queued is fine");
        assert!(matches!(cmds.try_recv(), Ok(CallCommand::Hangup)));
        view.send_modify(|v| v.state = CallState::Ended);
        assert_eq!(r.hangup(&id), Err(HangupError::AlreadyEnded));
        assert_eq!(r.hangup(&CallId::new()), Err(HangupError::NotFound));
    }

    #[test]
    fn ended_calls_are_kept_for_the_retention_then_swept() {
        let r = CallRegistry::new(Duration::from_secs(3600), 10);
        let t0 = Instant::now();
        let (id, _v, _c) = add(&r);
        r.ended(id, t0);
        assert_eq!(r.sweep(t0 + Duration::from_secs(3599)), 0);
        assert!(r.view(&id).is_some(), "readable after the actor is gone");
        assert_eq!(r.sweep(t0 + Duration::from_secs(3600)), 1);
        assert!(r.view(&id).is_none());
    }

    #[test]
    fn retain_max_evicts_the_oldest() {
        let r = CallRegistry::new(Duration::from_secs(3600), 2);
        let ids: Vec<CallId> = (0..3).map(|_| add(&r)).map(|(id, ..)| id).collect();
        for id in &ids {
            r.ended(*id, Instant::now());
        }
        assert!(r.view(&ids[0]).is_none());
        assert!(r.view(&ids[2]).is_some());
        assert_eq!(r.len(), 2);
    }
}
