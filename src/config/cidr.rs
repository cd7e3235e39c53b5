//! Address ranges (`10.0.0.0/8`, `2001:db8::/32`, or one address) for the
//! sources a trunk's INVITEs may come from (`[[trunks]] inbound_cidrs`),
//! and the set of every trunk's sources the SIP layer checks. Pure.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        // An IPv4-mapped IPv6 source matches IPv4 ranges.
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), 32),
            None => (u128::from(a), 128),
        },
    }
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| format!("{addr:?} is not an IP address"))?;
        let (_, max) = bits(net);
        let len = match len {
            None => max,
            Some(l) => {
                l.parse::<u8>().ok().filter(|l| *l <= max).ok_or(format!("/{l} is not a prefix length 0..={max}"))?
            }
        };
        Ok(Cidr { net, len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, width) = bits(self.net);
        let (addr, w) = bits(ip);
        if width != w {
            return false;
        }
        if self.len == 0 {
            return true;
        }
        let shift = u32::from(width - self.len);
        (net >> shift) == (addr >> shift)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

/// Where trunk traffic comes from: the trunks' resolved addresses and
/// their `inbound_cidrs`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub ips: HashSet<IpAddr>,
    pub nets: Vec<Cidr>,
}

impl Sources {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // On a dual-stack `[::]` listener IPv4 peers arrive IPv4-mapped
        // (`::ffff:192.0.2.7`), while trunks resolve to plain IPv4.
        self.ips.contains(&ip.to_canonical()) || self.nets.iter().any(|n| n.contains(ip))
    }
}

/// [`Sources`] that a reload replaces while the SIP socket reads them.
#[derive(Debug, Clone, Default)]
pub struct SharedSources(std::sync::Arc<std::sync::RwLock<Sources>>);

impl SharedSources {
    pub fn new(s: Sources) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(s)))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).contains(ip)
    }

    pub fn set(&self, s: Sources) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.255.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()), "IPv4-mapped");
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()) && !one.contains("192.0.2.8".parse().unwrap()));
        assert_eq!(one.to_string(), "192.0.2.7/32");
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("203.0.113.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope/8", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        let s = Sources { ips: ["127.0.0.1".parse().unwrap()].into(), nets: vec![c] };
        assert!(s.contains("127.0.0.1".parse().unwrap()) && s.contains("10.1.0.9".parse().unwrap()));
        assert!(!s.contains("127.0.0.2".parse().unwrap()));
        assert!(s.contains("::ffff:127.0.0.1".parse().unwrap()), "IPv4-mapped, from a [::] listener");
        let v6 = Sources { ips: ["::1".parse().unwrap()].into(), nets: vec![] };
        assert!(v6.contains("::1".parse().unwrap()) && !v6.contains("127.0.0.1".parse().unwrap()));
    }
}
