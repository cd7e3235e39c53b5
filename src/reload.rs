//! Reload on SIGHUP: the configuration file is read again and what can
//! change under live calls is swapped in — dialplans, trunks and trunk
//! groups, agents and agent groups, operator webhooks, the TLS certificate
//! and the trunks' CA bundle.
//!
//! All or nothing: the new file is checked whole first (syntax, every key,
//! dialplans and the names that point at them, certificates); on any
//! problem the reasons are logged and everything stays as it was. Objects
//! created through the API live in the store and are never touched. A
//! trunk removed from the file takes no new calls while its calls finish.
//! Other sections (`[sip]` listeners, `[api]`, `[storage]`, `[[inbound]]`,
//! click to call, the lead API) are read at start only; a reload that
//! changes them says a restart is needed.

use crate::agents::directory::Directory;
use crate::config::{Config, SharedSources, SipConfig};
use crate::dialplan::DialplanStore;
use crate::events::outbox::Outbox;
use crate::sip::{SipEndpoint, TlsMaterial};
use crate::store::WebhookRow;
use crate::trunk::Admission;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// What a reload changed.
#[derive(Debug, Default)]
pub struct Applied {
    pub flows: usize,
    pub trunks_added: Vec<String>,
    pub trunks_changed: Vec<String>,
    pub trunks_removed: Vec<String>,
    pub webhooks_changed: usize,
    /// Sections that differ from the running ones and need a restart.
    pub restart_needed: Vec<&'static str>,
}

/// The configuration as last loaded. Code reading sections a reload
/// changes (agents' screen pops, operator webhooks) reads it here, not the
/// configuration the daemon started with.
#[derive(Debug)]
pub struct LiveConfig(RwLock<Arc<Config>>);

impl LiveConfig {
    pub fn new(cfg: Arc<Config>) -> Arc<Self> {
        Arc::new(Self(RwLock::new(cfg)))
    }

    pub fn get(&self) -> Arc<Config> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, cfg: Arc<Config>) -> Arc<Config> {
        std::mem::replace(&mut *self.0.write().unwrap_or_else(|e| e.into_inner()), cfg)
    }
}

/// Everything a reload swaps, and the file it reads.
pub struct Reloader {
    pub path: Option<PathBuf>,
    pub running: Arc<LiveConfig>,
    pub dialplans: Arc<DialplanStore>,
    pub admission: Arc<Admission>,
    pub trunk_sources: SharedSources,
    pub directory: Arc<Directory>,
    pub outbox: Arc<Outbox>,
    pub sip: SipEndpoint,
    /// Keepalives of new trunk versions run until this or their trunk's
    /// `retired` token is cancelled.
    pub stop: CancellationToken,
    pub tasks: TaskTracker,
}

impl Reloader {
    /// Reads and applies the file; `Err` lists why nothing changed.
    pub async fn reload(&self) -> Result<Applied, Vec<String>> {
        let Some(path) = &self.path else {
            // No file (embedded use): the dialplan directory is all there is.
            let r = self.dialplans.reload().map_err(|r| r.problems)?;
            return Ok(Applied { flows: r.flows.len(), ..Default::default() });
        };
        let cfg =
            Config::load(path).map_err(|e| e.problems().into_iter().map(|p| p.to_string()).collect::<Vec<_>>())?;
        let flows = crate::dialplan::store::load_dir(&cfg.dialplans.dir, &cfg.media.prompts_dir)
            .map_err(|ps| ps.iter().map(|p| format!("dialplans: {p}")).collect::<Vec<_>>())?;
        check_references(&cfg, |name| flows.contains_key(name)).map_err(|e| vec![e])?;
        let tls = tls_material(&cfg.sip).map_err(|e| vec![e])?;
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            crate::sip::check_certificate(cert, key).map_err(|e| vec![format!("sip.tls_cert: {e}")])?;
        }
        // Names resolve before anything is swapped: a trunk host that does
        // not resolve refuses the reload.
        let report =
            self.admission.reload(&cfg.trunks, &cfg.trunk_groups).await.map_err(|e| vec![format!("trunks: {e}")])?;
        let flows_n = flows.len();
        self.dialplans.replace(flows);
        self.trunks_moved(&report);
        self.directory.reload_config(&cfg, std::time::Instant::now());
        let webhooks_changed = self.outbox.reload_configured(&webhook_rows(&cfg));
        if let (Some(cert), Some(key)) = (tls.cert, tls.key) {
            self.sip.reload_certificate(cert, key).await.map_err(|e| vec![format!("sip.tls_cert: {e}")])?;
        }
        self.sip.set_trusted_cas(tls.ca);
        let new = Arc::new(cfg);
        let old = self.running.replace(new.clone());
        Ok(Applied {
            flows: flows_n,
            trunks_added: report.added,
            trunks_changed: report.changed,
            trunks_removed: report.removed,
            webhooks_changed,
            restart_needed: restart_needed(&old, &new),
        })
    }
}

impl Reloader {
    /// After the trunk table changed: the sources the SIP layer accepts,
    /// keepalives for new trunk versions.
    fn trunks_moved(&self, report: &crate::trunk::ReloadReport) {
        self.trunk_sources.set(self.admission.trunk_sources());
        for t in &report.started {
            if let Some(k) = t.cfg.keepalive {
                self.tasks.spawn(crate::trunk::keepalive::run(t.clone(), k, self.sip.clone(), self.stop.clone()));
            }
        }
    }

    /// A DNS TTL passed: the trunks are looked up again (the trunk step of
    /// a reload, same configuration). `false` when DNS failed; the trunks
    /// keep their addresses.
    pub async fn refresh_dns(&self) -> bool {
        match self.admission.refresh().await {
            Ok(report) => {
                self.trunks_moved(&report);
                if !report.changed.is_empty() {
                    info!(trunks = ?report.changed, "DNS TTL: trunk addresses changed");
                }
                true
            }
            Err(e) => {
                warn!(error = %e, "DNS TTL: looking the trunks up again failed; they keep their addresses");
                false
            }
        }
    }
}

/// Until `stop`: trunks whose addresses came with a DNS TTL are looked up
/// again when it passes (at most once a second; after a DNS failure, 30 s
/// later).
pub async fn on_dns_ttl(reloader: Arc<Reloader>, stop: CancellationToken) {
    use std::time::{Duration, Instant};
    // Woken at least every minute: a reload may add a name with a TTL.
    let (floor, ceiling) = (Duration::from_secs(1), Duration::from_secs(60));
    loop {
        let expires = reloader.admission.dns_expires();
        let wait = expires.map_or(ceiling, |at| at.saturating_duration_since(Instant::now()).clamp(floor, ceiling));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let due = reloader.admission.dns_expires().is_some_and(|at| at <= Instant::now());
        if due && !reloader.refresh_dns().await {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
}

/// SIGHUP, until `stop`: reload, log the result, tell systemd.
pub async fn on_sighup(reloader: Arc<Reloader>, notifier: Arc<crate::notify::Notifier>, stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        warn!("cannot listen for SIGHUP; reload dialplans with POST /v1/dialplans:reload");
        return;
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = hup.recv() => {
                notifier.reloading();
                match reloader.reload().await {
                    Ok(a) => {
                        info!(
                            flows = a.flows,
                            trunks_added = ?a.trunks_added,
                            trunks_changed = ?a.trunks_changed,
                            trunks_removed = ?a.trunks_removed,
                            webhooks_changed = a.webhooks_changed,
                            "SIGHUP: configuration reloaded"
                        );
                        if !a.restart_needed.is_empty() {
                            warn!(sections = ?a.restart_needed, "SIGHUP: these sections changed and apply after a restart");
                        }
                    }
                    Err(problems) => warn!(?problems, "SIGHUP: reload refused; the running configuration stays"),
                }
                notifier.ready("serving");
            }
        }
    }
}

/// Dialplan names the configuration points at must exist.
pub fn check_references(cfg: &Config, has_flow: impl Fn(&str) -> bool) -> Result<(), String> {
    for (i, svc) in cfg.lead_api.services.iter().enumerate() {
        if !has_flow(&svc.policy.dialplan) {
            return Err(format!("lead_api.services[{i}].dialplan: no dialplan named {:?}", svc.policy.dialplan));
        }
    }
    for (i, g) in cfg.agent_groups.iter().enumerate() {
        if let Some(d) = &g.fallback_dialplan
            && !has_flow(d)
        {
            return Err(format!("agent_groups[{i}].fallback_dialplan: no dialplan named {d:?}"));
        }
    }
    for (i, r) in cfg.inbound.iter().enumerate() {
        if let crate::config::InboundTarget::Dialplan(d) = &r.target
            && !has_flow(d)
        {
            return Err(format!("inbound[{i}].dialplan: no dialplan named {d:?}"));
        }
    }
    let c2c = &cfg.click_to_call;
    if !c2c.sites.is_empty() && !has_flow(&c2c.whisper_dialplan) {
        return Err(format!("click_to_call.whisper_dialplan: no dialplan named {:?}", c2c.whisper_dialplan));
    }
    Ok(())
}

/// Reads the PEM files `[sip]` names. The CA bundle is optional (a host
/// without one trusts no TLS trunk); the listener's pair is not.
pub fn tls_material(sip: &SipConfig) -> Result<TlsMaterial, String> {
    let read = |key: &str, p: &PathBuf| std::fs::read(p).map_err(|e| format!("sip.{key}: {}: {e}", p.display()));
    let cert = sip.tls_cert.as_ref().map(|p| read("tls_cert", p)).transpose()?;
    let key = sip.tls_key.as_ref().map(|p| read("tls_key", p)).transpose()?;
    let ca = if sip.tls_ca.exists() { Some(read("tls_ca", &sip.tls_ca)?) } else { None };
    Ok(TlsMaterial { cert, key, ca })
}

/// The operator's webhooks as outbox rows (every client: `*`).
pub fn webhook_rows(cfg: &Config) -> Vec<WebhookRow> {
    cfg.webhooks
        .iter()
        .map(|w| WebhookRow {
            id: format!("config:{}", w.name),
            client: w.client.clone().unwrap_or_else(|| "*".into()),
            url: w.url.clone(),
            events: serde_json::to_string(&w.events).unwrap_or_default(),
            secret: w.secret.clone(),
            created_at: 0,
        })
        .collect()
}

/// Sections read only at start that differ between `old` and `new`.
fn restart_needed(old: &Config, new: &Config) -> Vec<&'static str> {
    let d = |a: String, b: String| a != b;
    let checks: [(&'static str, bool); 8] = [
        (
            "sip",
            old.sip.listen != new.sip.listen
                || old.sip.listen_tcp != new.sip.listen_tcp
                || old.sip.listen_tls != new.sip.listen_tls
                || old.sip.dns_servers != new.sip.dns_servers
                || (old.sip.t1, old.sip.t2, old.sip.t4) != (new.sip.t1, new.sip.t2, new.sip.t4),
        ),
        ("api", old.api.listen != new.api.listen || old.api.keys != new.api.keys),
        ("storage", old.storage.data_dir != new.storage.data_dir),
        ("media", d(format!("{:?}", old.media), format!("{:?}", new.media))),
        ("calls", d(format!("{:?}", old.calls), format!("{:?}", new.calls))),
        ("inbound", d(format!("{:?}", old.inbound), format!("{:?}", new.inbound))),
        ("click_to_call", d(format!("{:?}", old.click_to_call), format!("{:?}", new.click_to_call))),
        ("lead_api", d(format!("{:?}", old.lead_api), format!("{:?}", new.lead_api))),
    ];
    checks.into_iter().filter(|(_, changed)| *changed).map(|(k, _)| k).collect()
}
