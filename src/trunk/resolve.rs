//! Trunk addresses from DNS (RFC 3263 §4.2): a host name without a port is
//! looked up by SRV for its transport, the targets ordered by `srv.rs` and
//! each resolved to A/AAAA; without SRV records, the name's own A/AAAA on
//! 5060 (5061 for TLS). A name with a port is resolved to A/AAAA only.
//!
//! With `[sip] dns_servers` every name goes to those servers (hickory);
//! without, SRV goes to the system's servers (`/etc/resolv.conf`) and
//! A/AAAA to the system resolver (`getaddrinfo`: `/etc/hosts` included).
//! A resolver is built per resolution, so a reload (SIGHUP) always asks
//! DNS afresh rather than a cache. Answers from hickory carry their TTL
//! (`Resolved::expires`, the earliest); `getaddrinfo` gives none.

use super::srv::{self, SrvRecord};
use crate::config::TrunkConfig;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// A trunk's addresses, in the order to try them, and when the DNS
/// records they came from expire (`None`: no TTL known, e.g. an IP).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub addrs: Vec<SocketAddr>,
    pub expires: Option<Instant>,
}

/// The earlier of two expiries (`None` is never).
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where DNS questions go.
#[derive(Debug, Clone, Default)]
pub struct Dns {
    /// `[sip] dns_servers`; empty: the system's.
    servers: Vec<SocketAddr>,
}

impl Dns {
    pub fn new(servers: Vec<SocketAddr>) -> Self {
        Self { servers }
    }

    fn resolver(&self) -> Result<TokioResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let builder = if self.servers.is_empty() {
            Resolver::builder(provider).map_err(|e| format!("system DNS configuration: {e}"))?
        } else {
            let servers = self
                .servers
                .iter()
                .map(|a| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = a.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = a.port();
                    NameServerConfig::new(a.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        builder.build().map_err(|e| e.to_string())
    }

    /// The trunk's addresses in the order to try them (the first is where
    /// INVITEs go). Errors say what was asked and why it failed.
    pub async fn resolve(&self, cfg: &TrunkConfig) -> Result<Resolved, String> {
        if let Ok(ip) = cfg.host.parse::<IpAddr>() {
            return Ok(Resolved { addrs: vec![SocketAddr::new(ip, cfg.port)], expires: None });
        }
        let resolver = if cfg.srv || !self.servers.is_empty() { Some(self.resolver()?) } else { None };
        let (targets, mut expires) = match (&resolver, cfg.srv) {
            (Some(r), true) => srv_targets(r, cfg).await?,
            _ => (Vec::new(), None),
        };
        // No SRV (or not asked): the name itself, on the address's port.
        let targets = if targets.is_empty() { vec![(cfg.host.clone(), cfg.port)] } else { targets };
        let mut out = Vec::new();
        let mut last_error = None;
        let via = if self.servers.is_empty() { None } else { resolver.as_ref() };
        for (host, port) in targets {
            match addresses(via, &host, port).await {
                Ok((found, until)) => {
                    expires = earliest(expires, until);
                    for a in found {
                        if !out.contains(&a) {
                            out.push(a);
                        }
                    }
                }
                Err(e) => last_error = Some(format!("{host}: {e}")),
            }
        }
        match (out.is_empty(), last_error) {
            (true, Some(e)) => Err(e),
            (true, None) => Err("no address".into()),
            (false, _) => Ok(Resolved { addrs: out, expires }),
        }
    }
}

/// The SRV targets of the trunk's host, ordered (RFC 2782), and when the
/// answer expires; empty when the name has none (the caller falls back
/// to A/AAAA).
async fn srv_targets(r: &TokioResolver, cfg: &TrunkConfig) -> Result<(Vec<(String, u16)>, Option<Instant>), String> {
    let name = srv::srv_name(&cfg.host, cfg.transport);
    let mut expires = None;
    let records: Vec<SrvRecord> = match r.srv_lookup(name.as_str()).await {
        Ok(lookup) => {
            expires = Some(lookup.valid_until());
            lookup
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::SRV(s) => Some(SrvRecord {
                        priority: s.priority,
                        weight: s.weight,
                        port: s.port,
                        target: s.target.to_utf8().trim_end_matches('.').to_string(),
                    }),
                    _ => None,
                })
                .collect()
        }
        // NXDOMAIN or no SRV records: RFC 3263 §4.2 falls back to A/AAAA.
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Vec::new(),
        Err(e) => return Err(format!("SRV {name}: {e}")),
    };
    if srv::refused(&records) {
        return Err(format!("SRV {name}: the domain offers no SIP service here (target \".\")"));
    }
    let ordered = srv::order(records, |n| rand::random_range(0..=n));
    Ok((ordered.into_iter().map(|r| (r.target, r.port)).collect(), expires))
}

/// A/AAAA of `host` on `port` and their expiry: through hickory with
/// `[sip] dns_servers`, else the system resolver (no TTL).
async fn addresses(
    r: Option<&TokioResolver>,
    host: &str,
    port: u16,
) -> Result<(Vec<SocketAddr>, Option<Instant>), String> {
    match r {
        Some(r) => {
            let fqdn = format!("{}.", host.trim_end_matches('.'));
            let ips = r.lookup_ip(fqdn.as_str()).await.map_err(|e| e.to_string())?;
            Ok((ips.iter().map(|ip| SocketAddr::new(ip, port)).collect(), Some(ips.valid_until())))
        }
        None => Ok((tokio::net::lookup_host((host, port)).await.map_err(|e| e.to_string())?.collect(), None)),
    }
}
