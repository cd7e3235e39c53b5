//! Configuration: the file, the `DIALERD__SECTION__KEY` environment overrides,
//! defaults, and validation that names every problem by its key.
//!
//! Everything tunable (timers included) lives here and is passed down by
//! value; no module reads a global.

mod agent_groups;
pub mod click_to_call;
pub use click_to_call::{ClickToCallConfig, SiteConfig};
mod agents;
pub use agent_groups::AgentGroupConfig;
mod lead_policy;
pub mod leads;
pub use leads::LeadApiConfig;
mod api_keys;
pub(crate) use agents::valid_extension;
pub use agents::{AgentConfig, PopFilter};
mod webhooks;
pub use webhooks::{EventsConfig, WebhookConfig};
pub mod cidr;
pub(crate) mod reader;
mod trunks;
pub use cidr::{Cidr, SharedSources, Sources};
mod inbound;
pub use inbound::{InboundConfig, InboundTarget};

pub use reader::Problem;
use reader::Reader;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use trunks::read_trunks;
pub use trunks::{is_sip_user, split_host_port};

#[derive(Debug, Clone)]
pub struct Config {
    pub log: LogConfig,
    pub sip: SipConfig,
    pub api: ApiConfig,
    pub storage: StorageConfig,
    pub media: MediaConfig,
    pub calls: CallsConfig,
    pub dialplans: DialplansConfig,
    pub campaigns: CampaignsConfig,
    pub events: EventsConfig,
    pub webhooks: Vec<WebhookConfig>,
    pub agents: Vec<AgentConfig>,
    pub agent_groups: Vec<AgentGroupConfig>,
    pub trunks: Vec<TrunkConfig>,
    pub trunk_groups: Vec<TrunkGroupConfig>,
    pub lead_api: LeadApiConfig,
    pub click_to_call: ClickToCallConfig,
    pub inbound: Vec<InboundConfig>,
}

#[derive(Debug, Clone)]
pub struct DialplansConfig {
    /// Where the `*.toml` flows live.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `dialerd=debug`; `RUST_LOG` wins.
    pub level: String,
}

#[derive(Debug, Clone)]
pub struct SipConfig {
    pub listen: SocketAddr,
    pub user_agent: String,
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
    pub recv_buffer_bytes: usize,
    pub send_buffer_bytes: usize,
    /// Admission control: INVITE transactions awaiting a final response.
    pub max_invites_in_flight: usize,
    /// Load shedding: INVITEs sent that have no response of any kind yet.
    pub max_invites_unanswered: usize,

    /// Answer requests that break RFC 3261 grammar with 400 (RFC 4475).
    pub strict_parsing: bool,
    /// SIP over TCP (RFC 3261 §18) next to UDP, when set.
    pub listen_tcp: Option<SocketAddr>,
    /// SIP over TLS (RFC 3261 §26.2), when set; needs `tls_cert`/`tls_key`.
    pub listen_tls: Option<SocketAddr>,
    /// PEM certificate chain and key of the TLS listener; re-read on SIGHUP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle that trunks' TLS certificates must chain to.
    pub tls_ca: PathBuf,
    /// A TCP/TLS connection idle this long is closed (longer than calls).
    pub stream_idle_timeout: Duration,
    /// The public IP written in Via, Contact and SDP when we listen on a
    /// wildcard or sit behind NAT (ports stay the listeners').
    pub advertised_address: Option<IpAddr>,
    /// `Supported: 100rel` on our INVITEs (RFC 3262); reliable provisionals
    /// are PRACKed either way.
    pub supports_100rel: bool,
    /// RFC 4028 session timers: the interval our INVITEs ask for (`None`:
    /// off) and the shortest we accept (Min-SE).
    pub session_expires: Option<u32>,
    pub min_se: u32,
    /// DNS servers for trunk host names (`ip:port`); empty: the system's.
    pub dns_servers: Vec<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    pub keys: Vec<ApiKey>,
    /// Sessions from `POST /v1/session/login` end after this long.
    pub session_ttl: Duration,
}

/// An `[api] keys` entry: a plain string is a sysadmin key of the default
/// client; a table names its role and client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub key: String,
    pub role: crate::auth::Role,
    pub client: crate::ids::ClientId,
}

#[derive(Debug, Clone)]
pub struct CampaignsConfig {
    /// Seed 002: at most this many appends per rolling minute per campaign.
    pub appends_per_minute: u32,
    /// Seed 002: at most this many records per append.
    pub max_append_records: usize,
    /// Body limit of appends and uploads (10,000 records with 30 numbers
    /// each need about 6 MB).
    pub max_body_bytes: usize,
    /// A CSV upload streams; this bounds its size, not memory.
    pub max_upload_bytes: u64,
    /// Numbers (or `+447*` prefixes) scrubbed from initial builds.
    pub cell_phone_list: Option<PathBuf>,
    /// Added to the no-answer timeout before an interrupted attempt's
    /// number is dialled again.
    pub interrupted_margin: Duration,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleMedia {
    /// 20 ms silence frames while nothing plays: carriers drop silent calls.
    Silence,
    None,
}

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    pub prompts_dir: PathBuf,
    pub idle: IdleMedia,
    /// Address written in SDP `c=`; defaults to the SIP listen address.
    pub address: Option<IpAddr>,
    /// Send RTP where the far end's RTP comes from (NAT), not only where
    /// its SDP says (`MediaSession::latch`).
    pub symmetric_rtp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCapacity {
    /// Refuse with 429 + Retry-After.
    Reject,
    /// Accept as `queued` and dial when a slot frees.
    Queue,
}

#[derive(Debug, Clone)]
pub struct CallsConfig {
    pub no_answer_timeout: Duration,
    pub max_duration: Duration,
    pub on_capacity: OnCapacity,
    pub queue_timeout: Duration,
    pub max_active: usize,
    pub max_redirects: u8,
    pub retention: Duration,
    pub retain_max: usize,
    pub hangup_deadline: Duration,
    /// API calls' log rows wait up to this long to share a transaction.
    pub log_flush: Duration,
    /// An answered call with no RTP from the far end this long is ended
    /// (`rtp_timeout`); `None` = never.
    pub rtp_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
    Tls,
}

impl SipTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
            SipTransport::Tls => "tls",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrunkConfig {
    pub name: String,
    /// The host of `address` (an IP or a name); resolved at start and on
    /// reload.
    pub host: String,
    /// `address`'s port, else 5060 (5061 for TLS).
    pub port: u16,
    /// `address` is a host name without a port: its targets come from DNS
    /// SRV (RFC 3263 §4.2), and the Request-URI names the host alone.
    pub srv: bool,
    pub transport: SipTransport,
    pub username: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    pub caller_id: Option<String>,
    pub caller_name: Option<String>,
    pub max_concurrent: usize,
    pub max_cps: f64,
    /// Sources (besides the trunk's own address) whose INVITEs are this
    /// trunk's inbound calls.
    pub inbound_cidrs: Vec<Cidr>,
    /// Credentials the trunk's INVITEs must authenticate with (digest,
    /// RFC 3261 §22.4); none: its source address is enough.
    pub inbound_username: Option<String>,
    pub inbound_password: Option<String>,
    /// Digest algorithms to challenge with, most preferred first (some
    /// peers take the first challenge whatever its algorithm).
    pub inbound_algorithms: Vec<String>,
    /// OPTIONS keepalive: every `keepalive_interval` (off when `None`),
    /// down after `keepalive_failures` misses, up after
    /// `keepalive_successes` answers; a probe waits `keepalive_timeout`.
    pub keepalive: Option<crate::trunk::health::HealthConfig>,
    pub keepalive_timeout: std::time::Duration,
    /// Per-trunk overrides of `[calls] rtp_timeout_s` (0 = off) and
    /// `max_duration_s` (a safety net against billed hung calls).
    pub rtp_timeout: Option<Option<std::time::Duration>>,
    pub max_duration: Option<std::time::Duration>,
    /// RFC 3325: `P-Asserted-Identity` on our INVITEs (a `sip:`, `sips:`
    /// or `tel:` URI) and `Privacy` (e.g. `id`).
    pub asserted_identity: Option<String>,
    pub privacy: Option<String>,
    /// RFC 8224 `Identity` value (a STIR/SHAKEN PASSporT signed elsewhere),
    /// sent untouched.
    pub identity: Option<String>,
    /// Overrides `[sip] advertised_address` in Contact and SDP for this
    /// trunk's calls (e.g. a trunk on a private network beside public ones).
    pub advertised_address: Option<IpAddr>,
}

impl TrunkConfig {
    /// The identity headers of this trunk's INVITEs, in order.
    pub fn identity_headers(&self) -> Vec<(&'static str, String)> {
        let pai = self.asserted_identity.as_ref().map(|v| ("P-Asserted-Identity", format!("<{v}>")));
        let privacy = self.privacy.clone().map(|v| ("Privacy", v));
        let identity = self.identity.clone().map(|v| ("Identity", v));
        [pai, privacy, identity].into_iter().flatten().collect()
    }
}

/// `[[trunk_groups]]`: trunks tried in order for one call (failover).
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkGroupConfig {
    pub name: String,
    pub trunks: Vec<String>,
    /// No provisional response (100 or 18x) this long after the INVITE
    /// moves the call to the next trunk. Not Timer B: a dead trunk is
    /// given up on in seconds, not 32.
    pub provisional_timeout: Duration,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{} problem(s) in the configuration:\n{}", .0.len(), render(.0))]
    Invalid(Vec<Problem>),
}

fn render(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

impl ConfigError {
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Read { path, message } => {
                vec![Problem { key: path.display().to_string(), message: message.clone() }]
            }
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

impl Config {
    /// Loads `path`, applies `DIALERD__SECTION__KEY` overrides from the
    /// process environment and validates the result.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let read_err = |message: String| ConfigError::Read { path: path.to_path_buf(), message };
        if !path.is_file() {
            return Err(read_err("no such file".into()));
        }
        let env_map: config::Map<String, String> = env.into_iter().collect();
        let built = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("DIALERD")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("api.keys")
                    .try_parsing(true)
                    .source(Some(env_map)),
            )
            .build()
            .map_err(|e| read_err(e.to_string()))?;
        let tree: Value = built.try_deserialize().map_err(|e| read_err(e.to_string()))?;
        Self::from_tree(&tree)
    }

    /// Parses and validates TOML text (no environment); used by tests.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let tree: Value = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError::Read { path: "<text>".into(), message: e.to_string() })?;
        Self::from_tree(&tree)
    }

    fn from_tree(tree: &Value) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let root = tree.as_object();
        let table = |name: &str, problems: &mut Vec<Problem>| -> Option<&serde_json::Map<String, Value>> {
            match root.and_then(|r| r.get(name)) {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) => Some(m),
                Some(other) => {
                    problems.push(Problem {
                        key: name.into(),
                        message: format!("expected a table, found {}", reader::kind(other)),
                    });
                    None
                }
            }
        };

        let t = table("log", &mut problems);
        let mut r = Reader::new(t, "log", &mut problems);
        let log = LogConfig {
            format: r.choice("format", LogFormat::Text, &[("text", LogFormat::Text), ("json", LogFormat::Json)]),
            level: r.string("level", "info"),
        };
        r.finish();

        let t = table("sip", &mut problems);
        let mut r = Reader::new(t, "sip", &mut problems);
        if t.is_none() {
            r.problem("listen", "is required ([sip] listen = \"127.0.0.1:5060\")");
        }
        let sip_listen = if t.is_some() { r.socket_addr("listen", None) } else { None };
        let mut sip = SipConfig {
            listen: sip_listen.unwrap_or_else(|| ([127, 0, 0, 1], 5060).into()),
            user_agent: r.string("user_agent", concat!("dialerd/", env!("CARGO_PKG_VERSION"))),
            t1: r.millis("t1_ms", 500, 10, 10_000),
            t2: r.millis("t2_ms", 4_000, 100, 60_000),
            t4: r.millis("t4_ms", 5_000, 100, 60_000),
            recv_buffer_bytes: r.integer("recv_buffer_bytes", 4 << 20, 0, 1 << 30) as usize,
            send_buffer_bytes: r.integer("send_buffer_bytes", 4 << 20, 0, 1 << 30) as usize,
            max_invites_in_flight: r.integer("max_invites_in_flight", 20_000, 1, 1_000_000) as usize,
            max_invites_unanswered: r.integer("max_invites_unanswered", 300, 1, 1_000_000) as usize,
            strict_parsing: r.boolean("strict_parsing", true),
            listen_tcp: r.raw("listen_tcp").is_some().then(|| r.socket_addr("listen_tcp", None)).flatten(),
            listen_tls: r.raw("listen_tls").is_some().then(|| r.socket_addr("listen_tls", None)).flatten(),
            tls_cert: r.opt_string("tls_cert").map(PathBuf::from),
            tls_key: r.opt_string("tls_key").map(PathBuf::from),
            tls_ca: r.path("tls_ca", "/etc/ssl/certs/ca-certificates.crt"),
            stream_idle_timeout: r.seconds("stream_idle_timeout_s", 7200.0, 1.0, 7.0 * 86_400.0),
            advertised_address: r.ip("advertised_address"),
            supports_100rel: r.boolean("supports_100rel", false),
            session_expires: Some(r.integer("session_expires_s", 1800, 0, 86_400) as u32).filter(|s| *s > 0),
            // RFC 4028 says at least 90; tests run shorter.
            min_se: r.integer("min_se_s", 90, 1, 86_400) as u32,
            dns_servers: Vec::new(),
        };
        for (i, a) in r.strings("dns_servers").unwrap_or_default().iter().enumerate() {
            // A bare IP means the DNS port.
            let parsed = a.parse::<SocketAddr>().or_else(|_| a.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)));
            match parsed {
                Ok(addr) => sip.dns_servers.push(addr),
                Err(_) => r.problem(&format!("dns_servers[{i}]"), format!("{a:?} is not ip or ip:port")),
            }
        }
        if sip.listen_tls.is_some() {
            for (key, v) in [("tls_cert", &sip.tls_cert), ("tls_key", &sip.tls_key)] {
                if v.is_none() {
                    r.problem(key, "is required with listen_tls (PEM file path)");
                }
            }
        }
        if sip.session_expires.is_some_and(|e| e < sip.min_se) {
            r.problem("session_expires_s", "must not be below min_se_s (RFC 4028 §4)");
        }
        if sip.t2 < sip.t1 {
            r.problem("t2_ms", "must not be smaller than t1_ms (RFC 3261 §17.1.2.2)");
        }
        r.finish();

        let t = table("api", &mut problems);
        let mut r = Reader::new(t, "api", &mut problems);
        if t.is_none() {
            r.problem("listen", "is required ([api] listen = \"127.0.0.1:8080\")");
        }
        let api_listen = if t.is_some() { r.socket_addr("listen", None) } else { None };
        let keys = if t.is_some() { api_keys::read(&mut r) } else { Vec::new() };
        let api = ApiConfig {
            listen: api_listen.unwrap_or_else(|| ([127, 0, 0, 1], 8080).into()),
            keys,
            session_ttl: r.seconds("session_ttl_s", 8.0 * 3600.0, 1.0, 30.0 * 86_400.0),
        };
        r.finish();

        let t = table("storage", &mut problems);
        let mut r = Reader::new(t, "storage", &mut problems);
        let storage = StorageConfig { data_dir: r.path("data_dir", "./var") };
        r.finish();

        let t = table("media", &mut problems);
        let mut r = Reader::new(t, "media", &mut problems);
        let rtp_port_min = r.integer("rtp_port_min", 16_384, 1024, 65_534) as u16;
        let rtp_port_max = r.integer("rtp_port_max", 32_767, 1025, 65_535) as u16;
        if rtp_port_max <= rtp_port_min {
            r.problem("rtp_port_max", format!("must be greater than rtp_port_min ({rtp_port_min})"));
        }
        let prompts_dir = r.path("prompts_dir", "dialplans/prompts");
        if !prompts_dir.is_dir() {
            r.problem("prompts_dir", format!("{} is not a directory", prompts_dir.display()));
        }
        let idle = r.choice("idle", IdleMedia::Silence, &[("silence", IdleMedia::Silence), ("none", IdleMedia::None)]);
        let address = r.ip("address");
        let symmetric_rtp = r.boolean("symmetric_rtp", true);
        let media = MediaConfig { rtp_port_min, rtp_port_max, prompts_dir, idle, address, symmetric_rtp };
        r.finish();

        let t = table("calls", &mut problems);
        let mut r = Reader::new(t, "calls", &mut problems);
        let calls = CallsConfig {
            no_answer_timeout: r.seconds("no_answer_timeout_s", 30.0, 0.1, 600.0),
            max_duration: r.seconds("max_duration_s", 3600.0, 1.0, 86_400.0),
            on_capacity: r.choice(
                "on_capacity",
                OnCapacity::Reject,
                &[("reject", OnCapacity::Reject), ("queue", OnCapacity::Queue)],
            ),
            queue_timeout: r.seconds("queue_timeout_s", 30.0, 0.1, 3600.0),
            max_active: r.integer("max_active", 10_000, 1, 1_000_000) as usize,
            max_redirects: r.integer("max_redirects", 3, 0, 3) as u8,
            retention: r.seconds("retention_s", 3600.0, 60.0, 7.0 * 86_400.0),
            retain_max: r.integer("retain_max", 200_000, 100, 100_000_000) as usize,
            hangup_deadline: r.seconds("hangup_deadline_s", 5.0, 0.1, 300.0),
            log_flush: r.millis("log_flush_ms", 100, 0, 10_000),
            rtp_timeout: Some(r.seconds("rtp_timeout_s", 60.0, 0.0, 86_400.0)).filter(|d| !d.is_zero()),
        };
        r.finish();

        let t = table("dialplans", &mut problems);
        let mut r = Reader::new(t, "dialplans", &mut problems);
        let dialplans = DialplansConfig { dir: r.path("dir", "dialplans") };
        if !dialplans.dir.is_dir() {
            r.problem("dir", format!("{} is not a directory", dialplans.dir.display()));
        }
        r.finish();

        let t = table("campaigns", &mut problems);
        let mut r = Reader::new(t, "campaigns", &mut problems);
        let campaigns = CampaignsConfig {
            appends_per_minute: r.integer("appends_per_minute", 5, 1, 100_000) as u32,
            max_append_records: r.integer("max_append_records", 10_000, 1, 1_000_000) as usize,
            max_body_bytes: r.integer("max_body_mb", 16, 1, 4096) as usize * 1024 * 1024,
            max_upload_bytes: r.integer("max_upload_mb", 2048, 1, 1 << 20) * 1024 * 1024,
            cell_phone_list: r.opt_string("cell_phone_list").map(PathBuf::from),
            interrupted_margin: r.seconds("interrupted_margin_s", 10.0, 0.0, 3600.0),
        };
        if let Some(p) = &campaigns.cell_phone_list
            && !p.is_file()
        {
            r.problem("cell_phone_list", format!("{} is not a file", p.display()));
        }
        r.finish();

        let t = table("events", &mut problems);
        let mut r = Reader::new(t, "events", &mut problems);
        let events = webhooks::read_events(&mut r);
        r.finish();
        let webhooks = webhooks::read_webhooks(root.and_then(|r| r.get("webhooks")), &mut problems);
        let agents = agents::read_agents(root.and_then(|r| r.get("agents")), &mut problems);
        let agent_groups = agent_groups::read(root.and_then(|r| r.get("agent_groups")), &agents, &mut problems);

        let trunks = read_trunks(root.and_then(|r| r.get("trunks")), &mut problems);
        let trunk_groups = trunks::read_groups(root.and_then(|r| r.get("trunk_groups")), &trunks, &mut problems);
        let t = table("lead_api", &mut problems);
        let names: Vec<&str> = trunks.iter().map(|t| t.name.as_str()).collect();
        let lead_api = leads::read(t, &names, &mut problems);
        let t = table("click_to_call", &mut problems);
        let click_to_call = click_to_call::read(t, &names, &mut problems);
        let inbound = inbound::read(root.and_then(|r| r.get("inbound")), &names, &agent_groups, &mut problems);

        if let Some(root) = root {
            const SECTIONS: [&str; 17] = [
                "trunk_groups",
                "agents",
                "inbound",
                "click_to_call",
                "agent_groups",
                "lead_api",
                "log",
                "sip",
                "api",
                "storage",
                "media",
                "calls",
                "dialplans",
                "campaigns",
                "events",
                "webhooks",
                "trunks",
            ];
            for k in root.keys() {
                if !SECTIONS.contains(&k.as_str()) {
                    problems.push(Problem { key: k.clone(), message: "unknown section or key".into() });
                }
            }
        }

        let cfg = Config {
            log,
            sip,
            api,
            storage,
            media,
            calls,
            dialplans,
            campaigns,
            events,
            webhooks,
            agents,
            agent_groups,
            trunks,
            trunk_groups,
            lead_api,
            click_to_call,
            inbound,
        };
        if cfg.sip.listen == cfg.api.listen && cfg.sip.listen.port() != 0 {
            problems.push(Problem { key: "api.listen".into(), message: "must differ from sip.listen".into() });
        }
        if problems.is_empty() { Ok(cfg) } else { Err(ConfigError::Invalid(problems)) }
    }

    /// The IP RTP sockets bind: `[media] address`, else the SIP listen IP
    /// (a wildcard stays a wildcard).
    pub fn media_bind_ip(&self) -> IpAddr {
        self.media.address.unwrap_or(self.sip.listen.ip())
    }

    /// The IP written into SDP: `[sip] advertised_address` (public hosts,
    /// NAT), else `[media] address`, else the SIP listen IP (loopback when
    /// that is a wildcard and nothing is advertised).
    pub fn media_ip(&self) -> IpAddr {
        self.sip.advertised_address.or(self.media.address).unwrap_or_else(|| {
            let ip = self.sip.listen.ip();
            if ip.is_unspecified() {
                if ip.is_ipv6() { IpAddr::from(std::net::Ipv6Addr::LOCALHOST) } else { IpAddr::from([127, 0, 0, 1]) }
            } else {
                ip
            }
        })
    }

    pub fn trunk_by_name(&self, name: &str) -> Option<usize> {
        self.trunks.iter().position(|t| t.name == name)
    }
}

/// The smallest valid configuration, with one trunk `pbx` last: unit
/// tests append trunk keys or sections to it.
#[cfg(test)]
pub(crate) const TEST_BASE: &str = "[sip]\nlisten = \"127.0.0.1:5060\"\n[api]\nlisten = \"127.0.0.1:8080\"\n\
    keys = [\"0123456789abcdef\"]\n[media]\nprompts_dir = \".\"\n[[trunks]]\nname = \"pbx\"\n\
    address = \"127.0.0.1:5080\"\n";

#[cfg(test)]
mod tests;
