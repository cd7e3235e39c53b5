//! Trunks at run time: resolved addresses and admission state, plus the
//! global caps (INVITEs in flight, live calls). Admission state sits behind
//! a mutex held only for a few arithmetic steps, never across `.await`.

pub mod gate;
pub mod health;
pub mod keepalive;
pub mod resolve;
pub mod srv;

use crate::config::{TrunkConfig, TrunkGroupConfig};
use crate::ids::TrunkId;
use crate::metrics as m;
pub use gate::Refusal;
use gate::TrunkGate;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
#[error("trunks: {name}: address: cannot resolve {address}: {message}")]
pub struct ResolveError {
    pub name: String,
    /// `host:port`, or `host (SRV)` for a name looked up by SRV.
    pub address: String,
    pub message: String,
}

pub struct Trunk {
    pub id: TrunkId,
    pub cfg: TrunkConfig,
    /// Where INVITEs go: the first of `addrs`.
    pub target: SocketAddr,
    /// Every address the host resolved to, in the order to try them (SRV
    /// priority and weight): INVITEs from these are trunk traffic.
    pub addrs: Vec<SocketAddr>,
    /// When the DNS records behind `addrs` expire (their TTL); the
    /// addresses are looked up again then (`Admission::refresh`).
    expires: Mutex<Option<Instant>>,
    /// Shared by every version of the trunk a reload makes, so calls up
    /// on the old version still count against the new limits.
    gate: Arc<Mutex<TrunkGate>>,
    /// Set by the keepalive (`keepalive.rs`); a down trunk takes no calls.
    down: std::sync::atomic::AtomicBool,
    /// Set when a reload removed the trunk: its live calls finish, no new
    /// call starts on it.
    removed: std::sync::atomic::AtomicBool,
    /// Cancelled when a reload replaces or removes this version (its
    /// keepalive stops).
    pub retired: CancellationToken,
}

impl Trunk {
    /// `host:port` as it appears in our Request-URIs; a trunk found by SRV
    /// is named by its domain alone (RFC 3263: the URI the SRV came from).
    pub fn uri_host(&self) -> String {
        if self.cfg.srv {
            self.cfg.host.clone()
        } else if self.cfg.host.contains(':') {
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

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }

    pub fn active(&self) -> usize {
        self.gate.lock().unwrap().active()
    }
}

/// Where a call may go: one trunk, or a group's trunks in failover order.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub trunks: Vec<TrunkId>,
    /// A group's no-provisional timer (`provisional_timeout_s`).
    pub provisional_timeout: Option<Duration>,
}

impl Route {
    pub fn single(id: TrunkId) -> Self {
        Self { trunks: vec![id], provisional_timeout: None }
    }
}

/// The trunk table a reload swaps. Ids are stable: a name keeps its slot
/// for the life of the process (campaigns and live calls hold ids).
#[derive(Default)]
struct Table {
    slots: Vec<Arc<Trunk>>,
    by_name: HashMap<String, TrunkId>,
    groups: HashMap<String, TrunkGroupConfig>,
}

/// What a reload changed, by trunk name.
#[derive(Debug, Default, PartialEq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// New versions whose keepalive must start.
    #[doc(hidden)]
    pub started: Vec<Arc<Trunk>>,
}

impl std::fmt::Debug for Trunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trunk").field("name", &self.cfg.name).field("target", &self.target).finish()
    }
}

impl PartialEq for Trunk {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// The trunks and the global caps: every call passes through here.
pub struct Admission {
    /// Read for a few steps at a time, never across `.await`.
    table: RwLock<Arc<Table>>,
    /// Where trunk host names are looked up (`[sip] dns_servers`).
    dns: resolve::Dns,
    /// Held across a reload's lookups: a TTL refresh must not swap in the
    /// trunks it read while a SIGHUP reload was changing them.
    reloading: tokio::sync::Mutex<()>,
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
    /// Resolves every trunk's host with the system resolver.
    pub async fn resolve(
        cfgs: &[TrunkConfig],
        groups: &[TrunkGroupConfig],
        max_invites: usize,
        max_unanswered: usize,
        max_live: usize,
    ) -> Result<Self, ResolveError> {
        Self::resolve_with(resolve::Dns::default(), cfgs, groups, max_invites, max_unanswered, max_live).await
    }

    /// Resolves every trunk's host (SRV, A/AAAA: `resolve.rs`) through `dns`,
    /// which later reloads use too.
    pub async fn resolve_with(
        dns: resolve::Dns,
        cfgs: &[TrunkConfig],
        groups: &[TrunkGroupConfig],
        max_invites: usize,
        max_unanswered: usize,
        max_live: usize,
    ) -> Result<Self, ResolveError> {
        let admission = Self {
            table: RwLock::new(Arc::new(Table::default())),
            dns,
            reloading: Default::default(),
            invites: Arc::new(Semaphore::new(max_invites)),
            live: Arc::new(Semaphore::new(max_live)),
            unanswered: Arc::new(AtomicUsize::new(0)),
            max_unanswered,
        };
        admission.reload(cfgs, groups).await?;
        Ok(admission)
    }

    /// Swaps in new trunks and groups (SIGHUP). Resolves first: a host that
    /// does not resolve refuses the whole reload. A trunk whose settings are
    /// unchanged keeps its state; a changed one gets a new version in the
    /// same slot (calls up on the old one finish there); a removed one
    /// takes no new calls.
    pub async fn reload(
        &self,
        cfgs: &[TrunkConfig],
        groups: &[TrunkGroupConfig],
    ) -> Result<ReloadReport, ResolveError> {
        let _one_at_a_time = self.reloading.lock().await;
        self.reload_locked(cfgs, groups).await
    }

    /// Looks the trunks up again once a DNS TTL has passed: a trunk whose
    /// addresses changed gets a new version, as on reload (same trunks and
    /// groups, only DNS moved).
    pub async fn refresh(&self) -> Result<ReloadReport, ResolveError> {
        let _one_at_a_time = self.reloading.lock().await;
        let table = self.table();
        let cfgs: Vec<TrunkConfig> = table.slots.iter().filter(|t| !t.is_removed()).map(|t| t.cfg.clone()).collect();
        let groups: Vec<TrunkGroupConfig> = table.groups.values().cloned().collect();
        self.reload_locked(&cfgs, &groups).await
    }

    /// The earliest DNS expiry among the trunks, if any has a TTL.
    pub fn dns_expires(&self) -> Option<Instant> {
        self.trunks().iter().filter_map(|t| *t.expires.lock().unwrap()).min()
    }

    async fn reload_locked(
        &self,
        cfgs: &[TrunkConfig],
        groups: &[TrunkGroupConfig],
    ) -> Result<ReloadReport, ResolveError> {
        let mut resolved = Vec::with_capacity(cfgs.len());
        for cfg in cfgs {
            let address = if cfg.srv {
                format!("{} (SRV {})", cfg.host, srv::srv_name(&cfg.host, cfg.transport))
            } else {
                format!("{}:{}", cfg.host, cfg.port)
            };
            let err = |message: String| ResolveError { name: cfg.name.clone(), address: address.clone(), message };
            let resolve::Resolved { addrs, expires } = self.dns.resolve(cfg).await.map_err(err)?;
            let target = *addrs.first().ok_or_else(|| err("no address".into()))?;
            resolved.push((cfg, target, addrs, expires));
        }
        let mut guard = self.table.write().unwrap();
        let old = guard.clone();
        let mut table = Table {
            slots: old.slots.clone(),
            by_name: HashMap::new(),
            groups: groups.iter().map(|g| (g.name.clone(), g.clone())).collect(),
        };
        let mut report = ReloadReport::default();
        for (cfg, target, addrs, expires) in resolved {
            let previous = old.slots.iter().find(|t| t.cfg.name == cfg.name);
            let id = previous.map_or(TrunkId(table.slots.len()), |t| t.id);
            table.by_name.insert(cfg.name.clone(), id);
            // Equal-weight SRV targets come back in a new random order each
            // time: the same set is no change.
            let same_set = |a: &[SocketAddr]| a.len() == addrs.len() && a.iter().all(|x| addrs.contains(x));
            if let Some(p) = previous
                && !p.is_removed()
                && &p.cfg == cfg
                && same_set(&p.addrs)
            {
                *p.expires.lock().unwrap() = expires;
                continue;
            }
            let gate = match previous {
                Some(p) => {
                    p.gate.lock().unwrap().set_limits(cfg.max_concurrent, cfg.max_cps);
                    p.gate.clone()
                }
                None => Arc::new(Mutex::new(TrunkGate::new(cfg.max_concurrent, cfg.max_cps))),
            };
            let trunk = Arc::new(Trunk {
                id,
                cfg: cfg.clone(),
                target,
                addrs,
                expires: Mutex::new(expires),
                gate,
                down: Default::default(),
                removed: Default::default(),
                retired: CancellationToken::new(),
            });
            match previous {
                Some(p) => {
                    p.retired.cancel();
                    if !p.is_removed() {
                        report.changed.push(cfg.name.clone());
                    } else {
                        report.added.push(cfg.name.clone());
                    }
                    table.slots[id.0] = trunk.clone();
                }
                None => {
                    report.added.push(cfg.name.clone());
                    table.slots.push(trunk.clone());
                }
            }
            report.started.push(trunk);
        }
        for t in old.slots.iter().filter(|t| !t.is_removed() && !table.by_name.contains_key(&t.cfg.name)) {
            t.removed.store(true, Ordering::Relaxed);
            t.retired.cancel();
            report.removed.push(t.cfg.name.clone());
        }
        *guard = Arc::new(table);
        Ok(report)
    }

    fn table(&self) -> Arc<Table> {
        self.table.read().unwrap().clone()
    }

    /// A configured trunk by name (not a group).
    pub fn find(&self, name: &str) -> Option<TrunkId> {
        self.table().by_name.get(name).copied()
    }

    /// A trunk or a group by name: the trunks a call may try, in order.
    pub fn route(&self, name: &str) -> Option<Route> {
        let table = self.table();
        if let Some(id) = table.by_name.get(name) {
            return Some(Route { trunks: vec![*id], provisional_timeout: None });
        }
        let g = table.groups.get(name)?;
        let trunks = g.trunks.iter().filter_map(|n| table.by_name.get(n).copied()).collect();
        Some(Route { trunks, provisional_timeout: Some(g.provisional_timeout) })
    }

    /// The trunk's current version (a removed trunk's last one).
    pub fn trunk(&self, id: TrunkId) -> Arc<Trunk> {
        self.table().slots[id.0].clone()
    }

    /// Configured trunks (removed ones left out).
    pub fn trunks(&self) -> Vec<Arc<Trunk>> {
        self.table().slots.iter().filter(|t| !t.is_removed()).cloned().collect()
    }

    /// Source IPs whose INVITEs count as trunk traffic.
    pub fn trunk_ips(&self) -> HashSet<IpAddr> {
        self.trunks().iter().flat_map(|t| t.addrs.iter().map(|a| a.ip())).collect()
    }

    /// Where trunk traffic may come from: addresses and `inbound_cidrs`.
    pub fn trunk_sources(&self) -> crate::config::Sources {
        let nets = self.trunks().iter().flat_map(|t| t.cfg.inbound_cidrs.iter().copied()).collect();
        crate::config::Sources { ips: self.trunk_ips(), nets }
    }

    /// The trunk an INVITE from `src` belongs to: the one whose address is
    /// exactly `src`, else the first whose host or `inbound_cidrs` hold
    /// its IP (any source port).
    pub fn trunk_for_source(&self, src: SocketAddr) -> Option<TrunkId> {
        // IPv4-mapped sources (a dual-stack `[::]` listener) as plain IPv4.
        let src = SocketAddr::new(src.ip().to_canonical(), src.port());
        let trunks = self.trunks();
        let exact = trunks.iter().find(|t| t.addrs.contains(&src));
        let by_ip = || {
            trunks.iter().find(|t| {
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
        let trunk = self.trunk(id);
        if trunk.is_removed() {
            return Err(Refusal::TrunkRemoved);
        }
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
