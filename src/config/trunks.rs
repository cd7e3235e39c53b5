//! `[[trunks]]`: each entry read and checked, problems named by index.

use super::reader::{self, Reader};
use super::{Problem, SipTransport, TrunkConfig, TrunkGroupConfig};
use serde_json::Value;

pub(super) fn read_trunks(v: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<TrunkConfig> {
    if matches!(v, None | Some(Value::Null)) {
        problems.push(Problem {
            key: "trunks".into(),
            message: "at least one [[trunks]] entry (name, address) is required to place calls".into(),
        });
        return Vec::new();
    }
    let mut out: Vec<TrunkConfig> = Vec::new();
    for (prefix, table) in reader::tables(v, "trunks", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let name = r.required_string("name");
        if let Some(n) = &name {
            if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                r.problem("name", format!("{n:?} may hold only letters, digits, '-' and '_'"));
            } else if out.iter().any(|t| &t.name == n) {
                r.problem("name", format!("{n:?} is used by another trunk"));
            }
        }
        let address = r.required_string("address");
        let transport = r.choice(
            "transport",
            SipTransport::Udp,
            &[("udp", SipTransport::Udp), ("tcp", SipTransport::Tcp), ("tls", SipTransport::Tls)],
        );
        let host_port = address.as_deref().and_then(|a| match split_trunk_address(a) {
            Ok((host, Some(port))) => Some((host, port, false)),
            Ok((host, None)) => {
                // RFC 3263 §4.2: a name without a port is looked up by
                // SRV; an IP without one takes the transport's port.
                let srv = host.parse::<std::net::IpAddr>().is_err();
                Some((host, crate::trunk::srv::default_port(transport), srv))
            }
            Err(why) => {
                r.problem("address", format!("{a:?} {why}"));
                None
            }
        });
        let username = r.opt_string("username");
        let password = r.opt_string("password");
        if username.is_some() != password.is_some() {
            r.problem(if username.is_some() { "password" } else { "username" }, "username and password go together");
        }
        let realm = r.opt_string("realm");
        let caller_id = r.opt_string("caller_id");
        if let Some(c) = &caller_id
            && !is_sip_user(c)
        {
            r.problem("caller_id", format!("{c:?} is not a valid SIP user part (digits, letters, + * . _ -)"));
        }
        let caller_name = r.opt_string("caller_name");
        if caller_name.as_deref().is_some_and(|n| n.contains(['"', '\r', '\n', '\\'])) {
            r.problem("caller_name", "must not contain quotes, backslashes or line breaks");
        }
        let max_concurrent = r.integer("max_concurrent", 100, 1, 1_000_000) as usize;
        let max_cps = r.number("max_cps", 10.0, 0.01, 1_000_000.0);
        let inbound_username = r.opt_string("inbound_username");
        let inbound_password = r.opt_string("inbound_password");
        if inbound_username.is_some() != inbound_password.is_some() {
            let key = if inbound_username.is_some() { "inbound_password" } else { "inbound_username" };
            r.problem(key, "inbound_username and inbound_password go together");
        }
        if inbound_password.as_ref().is_some_and(|p| p.len() < 8) {
            r.problem("inbound_password", "at least 8 characters");
        }
        let inbound_algorithms =
            r.strings("inbound_algorithms").unwrap_or_else(|| vec!["SHA-256".into(), "MD5".into()]);
        if inbound_algorithms.is_empty() {
            r.problem("inbound_algorithms", "name at least one of SHA-256, MD5, SHA-512-256");
        }
        for (i, a) in inbound_algorithms.iter().enumerate() {
            if crate::sip::digest::Algorithm::parse(a).is_none() {
                r.problem(&format!("inbound_algorithms[{i}]"), format!("{a:?} is not SHA-256, MD5 or SHA-512-256"));
            }
        }
        let interval = r.seconds("keepalive_interval_s", 0.0, 0.0, 3600.0);
        let failures = r.integer("keepalive_failures", 3, 1, 100) as u32;
        let successes = r.integer("keepalive_successes", 2, 1, 100) as u32;
        let keepalive_timeout = r.seconds("keepalive_timeout_s", 2.0, 0.05, 60.0);
        let keepalive =
            (!interval.is_zero()).then_some(crate::trunk::health::HealthConfig { interval, failures, successes });
        let rtp_timeout = r
            .raw("rtp_timeout_s")
            .is_some()
            .then(|| Some(r.seconds("rtp_timeout_s", 60.0, 0.0, 86_400.0)).filter(|d| !d.is_zero()));
        let max_duration =
            r.raw("max_duration_s").is_some().then(|| r.seconds("max_duration_s", 3600.0, 1.0, 86_400.0));
        let asserted_identity = r.opt_string("asserted_identity");
        if let Some(a) = &asserted_identity
            && (!["sip:", "sips:", "tel:"].iter().any(|p| a.starts_with(p))
                || a.contains(['<', '>', '"', '\r', '\n', ' ']))
        {
            r.problem("asserted_identity", format!("{a:?} is not a sip:, sips: or tel: URI"));
        }
        let privacy = r.opt_string("privacy");
        if let Some(p) = &privacy {
            let ok = p
                .split(';')
                .map(str::trim)
                .all(|t| matches!(t, "id" | "header" | "session" | "user" | "none" | "critical"));
            if !ok {
                r.problem(
                    "privacy",
                    format!("{p:?} is not a list of id, header, session, user, none, critical (RFC 3323/3325)"),
                );
            }
        }
        let identity = r.opt_string("identity");
        if identity.as_ref().is_some_and(|i| i.is_empty() || i.contains(['\r', '\n'])) {
            r.problem("identity", "a single-line Identity header value (RFC 8224)");
        }
        let advertised_address = r.ip("advertised_address");
        let mut inbound_cidrs = Vec::new();
        for (i, c) in r.strings("inbound_cidrs").unwrap_or_default().iter().enumerate() {
            match super::Cidr::parse(c) {
                Ok(c) => inbound_cidrs.push(c),
                Err(why) => r.problem(&format!("inbound_cidrs[{i}]"), why),
            }
        }
        r.finish();
        if let (Some(name), Some((host, port, srv))) = (name, host_port) {
            out.push(TrunkConfig {
                name,
                host,
                port,
                srv,
                transport,
                username,
                password,
                realm,
                caller_id,
                caller_name,
                max_concurrent,
                max_cps,
                inbound_cidrs,
                inbound_username,
                inbound_password,
                inbound_algorithms,
                keepalive,
                keepalive_timeout,
                rtp_timeout,
                max_duration,
                asserted_identity,
                privacy,
                identity,
                advertised_address,
            });
        }
    }
    out
}

/// `[[trunk_groups]]`: a name no trunk has, and existing trunks in
/// failover order.
pub(super) fn read_groups(
    v: Option<&Value>,
    trunks: &[TrunkConfig],
    problems: &mut Vec<Problem>,
) -> Vec<TrunkGroupConfig> {
    let mut out: Vec<TrunkGroupConfig> = Vec::new();
    for (prefix, table) in reader::tables(v, "trunk_groups", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let name = r.required_string("name");
        if let Some(n) = &name {
            if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                r.problem("name", format!("{n:?} may hold only letters, digits, '-' and '_'"));
            } else if trunks.iter().any(|t| &t.name == n) || out.iter().any(|g| &g.name == n) {
                // Calls name a trunk or a group in one field.
                r.problem("name", format!("{n:?} is already the name of a trunk or group"));
            }
        }
        let members = r.strings("trunks").unwrap_or_default();
        if members.is_empty() {
            r.problem("trunks", "name at least one trunk, in the order calls try them");
        }
        for (i, m) in members.iter().enumerate() {
            if !trunks.iter().any(|t| &t.name == m) {
                r.problem(&format!("trunks[{i}]"), format!("no trunk named {m:?}"));
            } else if members[..i].contains(m) {
                r.problem(&format!("trunks[{i}]"), format!("{m:?} is listed twice"));
            }
        }
        let provisional_timeout = r.seconds("provisional_timeout_s", 2.0, 0.05, 60.0);
        r.finish();
        if let Some(name) = name {
            out.push(TrunkGroupConfig { name, trunks: members, provisional_timeout });
        }
    }
    out
}

/// A trunk's `address`: `host:port`, `[v6]:port`, or without the port
/// (`host`, `[v6]`, an IPv4 address), which `read_trunks` resolves by SRV
/// or the transport's port.
fn split_trunk_address(s: &str) -> Result<(String, Option<u16>), &'static str> {
    let bare = if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().map_err(|_| "is not a valid [IPv6] address")?;
        Some(inner)
    } else if s.contains(':') {
        None
    } else {
        Some(s)
    };
    match bare {
        Some(host) => {
            // Checked the same way as with a port.
            split_host_port(&format!("{}:1", if host.contains(':') { format!("[{host}]") } else { host.into() }))
                .map(|(h, _)| (h, None))
                .map_err(|e| if e.contains("port") { "has an invalid host name" } else { e })
        }
        None => split_host_port(s).map(|(h, p)| (h, Some(p))),
    }
}

/// Splits `host:port` (`[v6]:port` for IPv6). The port is required.
pub fn split_host_port(s: &str) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or("is not host:port ([IPv6]:port for IPv6)")?;
        (h, p)
    } else {
        s.rsplit_once(':').ok_or("is not host:port (the port is required)")?
    };
    if host.is_empty() || host.contains(':') && !s.starts_with('[') {
        return Err("is not host:port ([IPv6]:port for IPv6)");
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')) {
        return Err("has an invalid host name");
    }
    let port: u16 = port.parse().map_err(|_| "has an invalid port")?;
    if port == 0 {
        return Err("has an invalid port");
    }
    Ok((host.to_string(), port))
}

/// RFC 3261 §25.1 `user` characters we accept for numbers and extensions.
pub fn is_sip_user(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SipTransport};

    const BASE: &str = crate::config::TEST_BASE;

    #[test]
    fn identity_headers_are_checked_and_sent_in_order() {
        let c = Config::from_toml(&format!(
            "{BASE}asserted_identity = \"tel:+15550100\"\nprivacy = \"id;critical\"\nrtp_timeout_s = 0\n"
        ))
        .unwrap();
        let t = &c.trunks[0];
        assert_eq!(
            t.identity_headers(),
            [("P-Asserted-Identity", "<tel:+15550100>".to_string()), ("Privacy", "id;critical".to_string())]
        );
        assert_eq!(t.rtp_timeout, Some(None), "0 turns the check off on this trunk");
        let err = Config::from_toml(&format!(
            "{BASE}asserted_identity = \"+15550100\"\nprivacy = \"secret\"\nidentity = \"\"\n"
        ))
        .unwrap_err();
        let keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["trunks[0].asserted_identity", "trunks[0].privacy", "trunks[0].identity"]);
    }

    #[test]
    fn trunk_groups_and_transports_are_checked() {
        let c = Config::from_toml(&format!(
            "{BASE}transport = \"tls\"\n[[trunks]]\nname = \"b\"\naddress = \"127.0.0.1:5070\"\ntransport = \"tcp\"\n\
             [[trunk_groups]]\nname = \"both\"\ntrunks = [\"b\", \"pbx\"]\nprovisional_timeout_s = 0.5\n"
        ))
        .unwrap();
        assert_eq!((c.trunks[0].transport, c.trunks[1].transport), (SipTransport::Tls, SipTransport::Tcp));
        let g = &c.trunk_groups[0];
        assert_eq!(
            (g.trunks.as_slice(), g.provisional_timeout.as_millis()),
            (&["b".to_string(), "pbx".into()][..], 500)
        );

        let err = Config::from_toml(&format!(
            "{BASE}[[trunk_groups]]\nname = \"pbx\"\ntrunks = [\"pbx\", \"pbx\", \"x\"]\n\
             [[trunk_groups]]\nname = \"empty\"\ntrunks = []\nprovisional_timeout_s = 0\n"
        ))
        .unwrap_err();
        let keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "trunk_groups[0].name",
                "trunk_groups[0].trunks[1]",
                "trunk_groups[0].trunks[2]",
                "trunk_groups[1].trunks",
                "trunk_groups[1].provisional_timeout_s"
            ]
        );
    }

    #[test]
    fn a_trunk_host_name_without_a_port_is_resolved_by_srv() {
        // `sip` lines go into [sip]; `trunk` lines into the trunk, last.
        let with = |address: &str, sip: &str, trunk: &str| {
            let text = BASE.replace("127.0.0.1:5080", address).replace("[sip]\n", &format!("[sip]\n{sip}"));
            Config::from_toml(&format!("{text}{trunk}"))
        };
        let t = |address: &str, trunk: &str| {
            let c = with(address, "", trunk).unwrap().trunks[0].clone();
            (c.host, c.port, c.srv)
        };
        assert_eq!(t("carrier.example", ""), ("carrier.example".into(), 5060, true));
        assert_eq!(t("carrier.example", "transport = \"tls\"\n"), ("carrier.example".into(), 5061, true));
        assert_eq!(t("carrier.example:5070", ""), ("carrier.example".into(), 5070, false));
        assert_eq!(t("192.0.2.1", ""), ("192.0.2.1".into(), 5060, false), "an IP is not looked up");
        assert_eq!(t("[2001:db8::1]", "transport = \"tcp\"\n"), ("2001:db8::1".into(), 5060, false));
        assert_eq!(t("[::1]:5062", ""), ("::1".into(), 5062, false));
        for bad in ["::1", "[nope]", "bad_host", "host:0", "[::1]:x"] {
            let keys: Vec<String> = with(bad, "", "").unwrap_err().problems().into_iter().map(|p| p.key).collect();
            assert_eq!(keys, ["trunks[0].address"], "{bad}");
        }
        let c = with("carrier.example", "dns_servers = [\"127.0.0.1:5353\", \"::1\"]\n", "").unwrap();
        assert_eq!(c.sip.dns_servers, ["127.0.0.1:5353".parse().unwrap(), "[::1]:53".parse().unwrap()]);
        let err = with("h", "dns_servers = [\"nope\"]\n", "").unwrap_err();
        let keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["sip.dns_servers[0]"]);
    }

    #[test]
    fn a_tls_listener_needs_its_certificate_and_key() {
        let text = BASE.replace("[sip]\n", "[sip]\nlisten_tls = \"127.0.0.1:5061\"\nlisten_tcp = \"127.0.0.1:5060\"\n");
        let keys: Vec<String> = Config::from_toml(&text).unwrap_err().problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["sip.tls_cert", "sip.tls_key"]);
        let ok = text.replace("[sip]\n", "[sip]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n");
        let c = Config::from_toml(&ok).unwrap();
        assert_eq!(c.sip.listen_tcp, Some("127.0.0.1:5060".parse().unwrap()));
    }
}
