//! Trunks at run time: resolved addresses and admission state, plus the
//! global caps (INVITEs in flight, live calls). Admission state sits behind
//! a mutex held only for a few arithmetic steps, never across `.await`.

pub mod gate;
pub mod health;
pub mod keepalive;

use crate::config::TrunkConfig;
use crate::ids::TrunkId;
use crate::metrics as m;
pub use gate::Refusal;
use gate::TrunkGate;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, thiserror::Error)]
#[error("trunk {name}: cannot resolve {host}:{port}: {message}")]
pub struct ResolveError {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub message: String,
}

pub struct Trunk {
    pub id: TrunkId,
    pub cfg: TrunkConfig,
    /// Where INVITEs go.
    pub target: SocketAddr,
    /// Every address the host resolved to: INVITEs from these are trunk traffic.
    pub addrs: Vec<SocketAddr>,
    gate: Mutex<TrunkGate>,
    /// Set by the keepalive (`keepalive.rs`); a down trunk takes no calls.
    down: std::sync::atomic::AtomicBool,
}

impl Trunk {
    /// `host:port` as it appears in our Request-URIs.
    pub fn uri_host(&self) -> String {
        if self.cfg.host.contains(':') {
            format!("[{}]:{}", self.cfg.host, self.cfg.port)
        } else {
            format!("{}:{}", self.cfg.host, self.cfg.port)
        }
    }

    pub fn pause(&self, d: Duration) {
        self.gate.lock().unwrap().pause(Instant::now(), d);
        m::trunk_paused(&self.cfg.name, true);
    }

    pub fn paused(&self) -> bool {
        let paused = self.gate.lock().unwrap().paused(Instant::now());
        if !paused {
            m::trunk_paused(&self.cfg.name, false);
        }
        paused
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
        m::trunk_up(&self.cfg.name, !down);
    }

    pub fn active(&self) -> usize {
        self.gate.lock().unwrap().active()
    }
}

/// The trunks and the global caps: every call passes through here.
pub struct Admission {
    trunks: Vec<Arc<Trunk>>,
    by_name: HashMap<String, TrunkId>,
    invites: Arc<Semaphore>,
    live: Arc<Semaphore>,
    unanswered: Arc<AtomicUsize>,
    max_unanswered: usize,
}

/// Held from sending an INVITE until its first response of any kind.
pub struct Unanswered(Arc<AtomicUsize>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A call's right to exist on a trunk; dropping it frees the slot.
pub struct Admitted {
    pub trunk: Arc<Trunk>,
    _live: OwnedSemaphorePermit,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.trunk.gate.lock().unwrap().release();
    }
}

/// The right to have one INVITE awaiting its final response.
pub struct InvitePermit(#[allow(dead_code)] OwnedSemaphorePermit);

impl Drop for InvitePermit {
    fn drop(&mut self) {
        m::invites_in_flight(-1.0);
    }
}

impl Admission {
    /// Resolves every trunk's host (DNS A/AAAA; SRV comes with issue 9).
    pub async fn resolve(
        cfgs: &[TrunkConfig],
        max_invites: usize,
        max_unanswered: usize,
        max_live: usize,
    ) -> Result<Self, ResolveError> {
        let mut trunks = Vec::with_capacity(cfgs.len());
        let mut by_name = HashMap::new();
        for (i, cfg) in cfgs.iter().enumerate() {
            let err = |message: String| ResolveError {
                name: cfg.name.clone(),
                host: cfg.host.clone(),
                port: cfg.port,
                message,
            };
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((cfg.host.as_str(), cfg.port)).await.map_err(|e| err(e.to_string()))?.collect();
            let target = *addrs.first().ok_or_else(|| err("no address".into()))?;
            by_name.insert(cfg.name.clone(), TrunkId(i));
            trunks.push(Arc::new(Trunk {
                id: TrunkId(i),
                cfg: cfg.clone(),
                target,
                addrs,
                gate: Mutex::new(TrunkGate::new(cfg.max_concurrent, cfg.max_cps)),
                down: Default::default(),
            }));
        }
        Ok(Self {
            trunks,
            by_name,
            invites: Arc::new(Semaphore::new(max_invites)),
            live: Arc::new(Semaphore::new(max_live)),
            unanswered: Arc::new(AtomicUsize::new(0)),
            max_unanswered,
        })
    }

    pub fn find(&self, name: &str) -> Option<TrunkId> {
        self.by_name.get(name).copied()
    }

    pub fn trunk(&self, id: TrunkId) -> &Arc<Trunk> {
        &self.trunks[id.0]
    }

    pub fn trunks(&self) -> &[Arc<Trunk>] {
        &self.trunks
    }

    /// Source IPs whose INVITEs count as trunk traffic.
    pub fn trunk_ips(&self) -> HashSet<IpAddr> {
        self.trunks.iter().flat_map(|t| t.addrs.iter().map(|a| a.ip())).collect()
    }

    /// Where trunk traffic may come from: addresses and `inbound_cidrs`.
    pub fn trunk_sources(&self) -> crate::config::Sources {
        let nets = self.trunks.iter().flat_map(|t| t.cfg.inbound_cidrs.iter().copied()).collect();
        crate::config::Sources { ips: self.trunk_ips(), nets }
    }

    /// The trunk an INVITE from `src` belongs to: the one whose address is
    /// exactly `src`, else the first whose host or `inbound_cidrs` hold
    /// its IP (any source port).
    pub fn trunk_for_source(&self, src: SocketAddr) -> Option<TrunkId> {
        let exact = self.trunks.iter().find(|t| t.addrs.contains(&src));
        let by_ip = || {
            self.trunks.iter().find(|t| {
                t.addrs.iter().any(|a| a.ip() == src.ip()) || t.cfg.inbound_cidrs.iter().any(|c| c.contains(src.ip()))
            })
        };
        exact.or_else(by_ip).map(|t| t.id)
    }

    /// Admits one call on a trunk now, or says why not.
    pub fn try_admit(&self, id: TrunkId) -> Result<Admitted, Refusal> {
        if self.unanswered.load(Ordering::Relaxed) >= self.max_unanswered {
            return Err(Refusal::Overloaded);
        }
        let live = self.live.clone().try_acquire_owned().map_err(|_| Refusal::TooManyCalls)?;
        let trunk = self.trunks[id.0].clone();
        if trunk.is_down() {
            return Err(Refusal::TrunkDown);
        }
        trunk.gate.lock().unwrap().try_admit(Instant::now())?;
        Ok(Admitted { trunk, _live: live })
    }

    /// Marks an INVITE as sent; drop the guard at its first response.
    pub fn invite_sent(&self) -> Unanswered {
        self.unanswered.fetch_add(1, Ordering::Relaxed);
        Unanswered(self.unanswered.clone())
    }

    pub fn try_invite(&self) -> Result<InvitePermit, Refusal> {
        let p = self.invites.clone().try_acquire_owned().map_err(|_| Refusal::InvitesInFlight)?;
        m::invites_in_flight(1.0);
        Ok(InvitePermit(p))
    }

    pub async fn invite(&self) -> InvitePermit {
        let p = self.invites.clone().acquire_owned().await.expect("the semaphore is never closed");
        m::invites_in_flight(1.0);
        InvitePermit(p)
    }
}
