//! Start-up and ordered shutdown.
//!
//! Start: metrics, data dir, store (migrated), trunks, SIP endpoint,
//! campaigns (interrupted attempts recovered, actors started), HTTP API,
//! then "ready".
//! Stop (SIGTERM/SIGINT): the API refuses new calls (503) → campaigns stop
//! dialling → every call is told to end (CANCEL/BYE) → calls get
//! `[calls] hangup_deadline_s` to finish → campaign actors record the ends
//! → HTTP stops → the call log flushes → the store closes → SIP stops → exit.

use crate::api::{self, App};
use crate::call::actor::CallDeps;
use crate::call::log::CallLog;
use crate::call::place::Placer;
use crate::call::registry::CallRegistry;
use crate::call::rtp::RtpPorts;
use crate::campaign::actor::CampaignDeps;
use crate::campaign::build::CellList;
use crate::campaign::manager::Campaigns;
use crate::config::Config;
use crate::dialplan::DialplanStore;
use crate::events::EventBus;
use crate::events::outbox::{Outbox, OutboxConfig};
use crate::sip::{SipEndpoint, SipSettings};
use crate::store::{SqliteStore, Store};
use crate::trunk::Admission;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(std::path::PathBuf, std::io::Error),
    #[error(transparent)]
    Trunk(#[from] crate::trunk::ResolveError),
    #[error(transparent)]
    Sip(#[from] crate::sip::SipError),
    #[error("cannot listen for HTTP on {0}: {1}")]
    Http(SocketAddr, std::io::Error),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("HTTP client: {0}")]
    HttpClient(String),
    #[error("dialplans:\n{}", .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Dialplans(Vec<crate::dialplan::DialplanProblem>),
    #[error("store {0}: {1}")]
    Store(std::path::PathBuf, crate::store::StoreError),
    #[error("[campaigns] cell_phone_list {0}: {1}")]
    CellList(std::path::PathBuf, String),
    #[error("campaigns: {0}")]
    Campaigns(#[from] crate::campaign::manager::CampaignError),
    #[error("{0}")]
    Setup(String),
}

/// Addresses the daemon actually bound (port 0 in config picks one).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub sip: SocketAddr,
    pub http: SocketAddr,
}

/// Runs until `stop` resolves, then shuts down in order.
/// `path` is the file SIGHUP re-reads (`None`: only dialplans reload).
pub async fn run(
    cfg: Config,
    path: Option<std::path::PathBuf>,
    stop: impl Future<Output = ()>,
    on_ready: impl FnOnce(Bound),
) -> Result<(), DaemonError> {
    let metrics = crate::metrics::install().map_err(|e| DaemonError::Metrics(e.to_string()))?;
    std::fs::create_dir_all(&cfg.storage.data_dir)
        .map_err(|e| DaemonError::DataDir(cfg.storage.data_dir.clone(), e))?;
    let db_path = cfg.storage.data_dir.join("dialerd.db");
    let sqlite = SqliteStore::open(&db_path).await.map_err(|e| DaemonError::Store(db_path.clone(), e))?;
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let cells = match &cfg.campaigns.cell_phone_list {
        None => CellList::empty(),
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| CellList::parse(&t))
            .map_err(|e| DaemonError::CellList(p.clone(), e))?,
    };
    let cfg = Arc::new(cfg);
    let dialplans =
        Arc::new(DialplanStore::open(&cfg.dialplans.dir, &cfg.media.prompts_dir).map_err(DaemonError::Dialplans)?);

    let admission = Arc::new(
        Admission::resolve_with(
            crate::trunk::resolve::Dns::new(cfg.sip.dns_servers.clone()),
            &cfg.trunks,
            &cfg.trunk_groups,
            cfg.sip.max_invites_in_flight,
            cfg.sip.max_invites_unanswered,
            cfg.calls.max_active,
        )
        .await?,
    );
    let trunk_sources = crate::config::SharedSources::new(admission.trunk_sources());
    let infra = TaskTracker::new();
    let calls = TaskTracker::new();
    let sip_stop = CancellationToken::new();
    let sip = SipEndpoint::start(
        SipSettings {
            listen: cfg.sip.listen,
            user_agent: cfg.sip.user_agent.clone(),
            t1: cfg.sip.t1,
            t2: cfg.sip.t2,
            t4: cfg.sip.t4,
            recv_buffer_bytes: cfg.sip.recv_buffer_bytes,
            send_buffer_bytes: cfg.sip.send_buffer_bytes,
            trunk_sources: trunk_sources.clone(),
            strict_parsing: cfg.sip.strict_parsing,
            listen_tcp: cfg.sip.listen_tcp,
            listen_tls: cfg.sip.listen_tls,
            tls: crate::reload::tls_material(&cfg.sip).map_err(DaemonError::Setup)?,
            stream_idle_timeout: cfg.sip.stream_idle_timeout,
            advertised: cfg.sip.advertised_address,
            min_se: cfg.sip.min_se,
        },
        sip_stop.clone(),
        infra.clone(),
    )
    .await?;
    let granted = sip.granted_buffers();
    if granted.recv < cfg.sip.recv_buffer_bytes || granted.send < cfg.sip.send_buffer_bytes {
        warn!(
            asked_recv = cfg.sip.recv_buffer_bytes,
            got_recv = granted.recv,
            asked_send = cfg.sip.send_buffer_bytes,
            got_send = granted.send,
            "the kernel capped the SIP socket buffers (raise net.core.rmem_max / wmem_max)"
        );
    }

    let events = EventBus::new(cfg.events.bus_capacity);
    let events_stop = CancellationToken::new();
    let events_tasks = TaskTracker::new();
    let http_client = reqwest::Client::builder()
        .user_agent(&cfg.sip.user_agent)
        .build()
        .map_err(|e| DaemonError::HttpClient(e.to_string()))?;
    let configured = crate::reload::webhook_rows(&cfg);
    let outbox_cfg = OutboxConfig {
        timeout: cfg.events.webhook_timeout,
        retry_base: cfg.events.retry_base,
        retry_max: cfg.events.retry_max,
        horizon: cfg.events.retry_horizon,
    };
    let outbox = Outbox::start(
        store.clone(),
        configured,
        &events,
        http_client.clone(),
        outbox_cfg,
        events_stop.clone(),
        events_tasks.clone(),
    )
    .await
    .map_err(|e| DaemonError::Store(db_path.clone(), e))?;
    let calls_stop = CancellationToken::new();
    let (transfers_tx, transfers_rx) = tokio::sync::mpsc::channel(crate::call::transfer::DEPTH);
    let registry = Arc::new(CallRegistry::new(cfg.calls.retention, cfg.calls.retain_max));
    let deps = Arc::new(CallDeps {
        legs: Arc::new(sip.clone()),
        http: http_client,
        admission: admission.clone(),
        registry: registry.clone(),
        rtp: RtpPorts::new(cfg.media_bind_ip(), cfg.media.rtp_port_min, cfg.media.rtp_port_max)
            .advertising(cfg.media_ip()),
        idle: cfg.media.idle,
        symmetric_rtp: cfg.media.symmetric_rtp,
        session_timer: cfg
            .sip
            .session_expires
            .map(|expires| crate::sip::session_refresh::Ask { expires, min_se: cfg.sip.min_se }),
        queue_timeout: cfg.calls.queue_timeout,
        shutdown: calls_stop.clone(),
        events: events.clone(),
        transfers: Some(transfers_tx),
        transfer_no_answer: cfg.calls.no_answer_timeout,
    });
    let draining = CancellationToken::new();
    let log_stop = CancellationToken::new();
    let log_tasks = TaskTracker::new();
    let call_log = CallLog::start(store.clone(), cfg.calls.log_flush, log_stop.clone(), &log_tasks);
    let campaigns_stop = CancellationToken::new();
    let live = crate::reload::LiveConfig::new(cfg.clone());
    let placer = Placer {
        cfg: cfg.clone(),
        live: live.clone(),
        deps: deps.clone(),
        admission: admission.clone(),
        tasks: calls.clone(),
    };
    let campaign_deps = Arc::new(CampaignDeps {
        store: store.clone(),
        placer: placer.clone(),
        dialplans: dialplans.clone(),
        interrupted_margin: cfg.campaigns.interrupted_margin,
        reports_dir: cfg.storage.data_dir.join("reports"),
        stop: campaigns_stop.clone(),
        events: events.clone(),
    });
    crate::reload::check_references(&cfg, |n| dialplans.get(n).is_some()).map_err(DaemonError::Setup)?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let lead_services = crate::leads::provision::provision(&cfg, &*store, now_ms)
        .await
        .map_err(|e| DaemonError::Setup(e.to_string()))?;
    let campaigns = Campaigns::start(campaign_deps, TaskTracker::new()).await?;
    let directory = Arc::new(
        crate::agents::directory::Directory::load(&cfg, &*store, std::time::Instant::now())
            .await
            .map_err(|e| DaemonError::Setup(format!("agents: {e}")))?,
    );
    infra.spawn(crate::call::transfer::run(placer.clone(), directory.clone(), transfers_rx, calls_stop.clone()));
    let reload_directory = directory.clone();
    sip.set_inbound(Arc::new(crate::call::inbound::InboundRouter::new(
        placer.clone(),
        dialplans.clone(),
        call_log.clone(),
    )));
    let clicks = crate::clicktocall::service::ClickToCall::start(crate::clicktocall::service::Deps {
        cfg: cfg.clone(),
        placer: placer.clone(),
        directory: directory.clone(),
        store: store.clone(),
        events: events.clone(),
        dialplans: dialplans.clone(),
        tasks: infra.clone(),
        stop: calls_stop.clone(),
    })
    .await
    .map_err(|e| DaemonError::Setup(format!("click to call: {e}")))?;
    let listener =
        tokio::net::TcpListener::bind(cfg.api.listen).await.map_err(|e| DaemonError::Http(cfg.api.listen, e))?;
    let http_addr = listener.local_addr().map_err(|e| DaemonError::Http(cfg.api.listen, e))?;
    let leads_stop = CancellationToken::new();
    let leads_tasks = TaskTracker::new();
    let leads = {
        let link_secret = crate::leads::link_secret(&cfg).map_err(DaemonError::Setup)?;
        let messages = Arc::new(tokio::sync::Notify::new());
        let messenger = crate::leads::messenger::Messenger::new(&cfg.lead_api, store.clone(), events.clone())
            .map_err(|e| DaemonError::Setup(format!("lead_api: {e}")))?;
        leads_tasks.spawn(messenger.run(messages.clone(), leads_stop.clone()));
        let deps = Arc::new(crate::leads::engine::Deps {
            cfg: cfg.clone(),
            store: store.clone(),
            campaigns: campaigns.clone(),
            events: events.clone(),
            services: lead_services,
            link_secret,
            public_url: cfg.lead_api.public_url.clone().unwrap_or_else(|| format!("http://{http_addr}")),
            messages,
        });
        crate::leads::engine::Leads::start(deps, leads_stop.clone(), &leads_tasks)
    };
    let rt = api::Runtime {
        metrics: Some(metrics.clone()),
        draining: draining.clone(),
        tasks: calls.clone(),
        sip_listen: sip.local_addr(),
        store: store.clone(),
        call_log,
        placer,
        campaigns: campaigns.clone(),
        cells: Arc::new(cells),
        outbox: outbox.clone(),
        leads: Some(leads),
        directory,
        clicks: Some(clicks),
    };
    let app = Arc::new(App::new(cfg.clone(), deps, admission.clone(), dialplans.clone(), rt));
    let http_stop = CancellationToken::new();
    let http = {
        let stop = http_stop.clone();
        let router = api::router(app);
        infra.spawn(async move {
            // The peer address feeds the lead API's per-IP rate limit.
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(stop.cancelled_owned()).await {
                warn!(error = %e, "HTTP server stopped");
            }
        })
    };
    infra.spawn(housekeeping(registry.clone(), metrics, store.clone(), sip_stop.clone()));
    for trunk in admission.trunks() {
        if let Some(k) = trunk.cfg.keepalive {
            infra.spawn(crate::trunk::keepalive::run(trunk.clone(), k, sip.clone(), sip_stop.clone()));
        }
    }
    let notifier = Arc::new(crate::notify::Notifier::from_env());
    let reloader = Arc::new(crate::reload::Reloader {
        path,
        running: live,
        dialplans,
        admission: admission.clone(),
        trunk_sources,
        directory: reload_directory,
        outbox: outbox.clone(),
        sip: sip.clone(),
        stop: sip_stop.clone(),
        tasks: infra.clone(),
    });
    infra.spawn(crate::reload::on_dns_ttl(reloader.clone(), sip_stop.clone()));
    infra.spawn(crate::reload::on_sighup(reloader, notifier.clone(), sip_stop.clone()));
    infra.spawn(crate::watchdog::run(notifier.clone(), store.clone(), sip_stop.clone()));

    let bound = Bound { sip: sip.local_addr(), http: http_addr };
    info!(sip = %bound.sip, http = %bound.http, trunks = cfg.trunks.len(), "dialerd ready");
    on_ready(bound);
    // Type=notify: systemd starts dependants once listeners and store are up.
    notifier.ready(&format!("serving: SIP {} HTTP {}", bound.sip, bound.http));

    stop.await;
    notifier.stopping();
    info!("draining: refusing new calls, stopping campaigns, ending active calls");
    draining.cancel();
    campaigns_stop.cancel();
    calls_stop.cancel();
    calls.close();
    if tokio::time::timeout(cfg.calls.hangup_deadline, calls.wait()).await.is_err() {
        warn!(
            deadline_s = cfg.calls.hangup_deadline.as_secs_f64(),
            "calls did not end before the deadline; stopping anyway"
        );
    }
    // Campaign actors record their calls' ends; what they cannot record in
    // time stays open in the store and is recovered as interrupted.
    let _ = tokio::time::timeout(Duration::from_secs(2), campaigns.wait()).await;
    http_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    // Lead state and queued messages are in the store; unsent messages
    // wait there for the next start.
    leads_stop.cancel();
    leads_tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), leads_tasks.wait()).await;
    log_stop.cancel();
    log_tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), log_tasks.wait()).await;
    // Events still on the bus go into the outbox; undelivered rows wait
    // there for the next start.
    events_stop.cancel();
    events_tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), events_tasks.wait()).await;
    sqlite.close().await;
    sip_stop.cancel();
    infra.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), infra.wait()).await;
    info!(dialogs_left = sip.dialog_count(), "dialerd stopped");
    Ok(())
}

/// Retention sweep, metrics upkeep, and (each minute) expired sessions.
async fn housekeeping(
    registry: Arc<CallRegistry>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    store: Arc<dyn Store>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                registry.sweep(std::time::Instant::now());
                metrics.run_upkeep();
                if let Ok(n) = store.outbox_depth().await {
                    crate::metrics::outbox_depth(n);
                }
                n += 1;
                if n % 12 == 1
                    && let Err(e) = store.purge_sessions(jiff::Timestamp::now().as_millisecond()).await
                {
                    warn!(error = %e, "cannot purge expired sessions");
                }
            }
        }
    }
}
