//! RFC 3263 / RFC 2782 rules for a trunk named by host name, without I/O:
//! which SRV name to ask for a transport, the default ports, and the order
//! in which SRV targets are tried (lowest priority first; within one
//! priority, a weighted random order). The random draws are an input, so
//! the ordering is tested deterministically; `resolve.rs` does the lookups.

use crate::config::SipTransport;

/// One SRV answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host name, without the trailing dot.
    pub target: String,
}

/// The port a trunk address without one uses (RFC 3261 §19.1.2).
pub fn default_port(transport: SipTransport) -> u16 {
    match transport {
        SipTransport::Tls => 5061,
        SipTransport::Udp | SipTransport::Tcp => 5060,
    }
}

/// The SRV name for `host` over `transport` (RFC 3263 §4.2), fully
/// qualified so no search domain is appended.
pub fn srv_name(host: &str, transport: SipTransport) -> String {
    let service = match transport {
        SipTransport::Udp => "_sip._udp",
        SipTransport::Tcp => "_sip._tcp",
        SipTransport::Tls => "_sips._tcp",
    };
    format!("{service}.{}.", host.trim_end_matches('.'))
}

/// RFC 2782: a single record whose target is "." means the service is
/// decidedly not offered at this domain.
pub fn refused(records: &[SrvRecord]) -> bool {
    matches!(records, [r] if r.target.is_empty() || r.target == ".")
}

/// Orders `records` as RFC 2782 says to try them: ascending priority; in
/// each priority, repeatedly pick one at random with probability
/// proportional to its weight (zero-weight records first in the running
/// sum, so they are picked only rarely). `draw(n)` returns a uniform
/// number in `0..=n`.
pub fn order(mut records: Vec<SrvRecord>, mut draw: impl FnMut(u32) -> u32) -> Vec<SrvRecord> {
    // Stable: within a priority, zero weights first, then answer order.
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let end = records.iter().position(|r| r.priority != priority).unwrap_or(records.len());
        let mut group: Vec<SrvRecord> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let n = draw(total).min(total);
            let mut sum = 0;
            let i = group
                .iter()
                .position(|r| {
                    sum += u32::from(r.weight);
                    sum >= n
                })
                .unwrap_or(0);
            out.push(group.remove(i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord { priority, weight, port: 5060, target: target.into() }
    }

    fn targets(v: &[SrvRecord]) -> Vec<&str> {
        v.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn names_and_ports_follow_the_transport() {
        assert_eq!(srv_name("carrier.example", SipTransport::Udp), "_sip._udp.carrier.example.");
        assert_eq!(srv_name("carrier.example.", SipTransport::Tcp), "_sip._tcp.carrier.example.");
        assert_eq!(srv_name("carrier.example", SipTransport::Tls), "_sips._tcp.carrier.example.");
        assert_eq!([SipTransport::Udp, SipTransport::Tcp, SipTransport::Tls].map(default_port), [5060, 5060, 5061]);
    }

    #[test]
    fn lower_priority_comes_first_whatever_the_weights_and_answer_order() {
        let records = vec![rec(20, 100, "backup"), rec(10, 0, "zero"), rec(10, 50, "main"), rec(30, 1, "last")];
        // Always draw the highest number: the last in each running sum.
        let v = order(records.clone(), |n| n);
        assert_eq!(targets(&v), ["main", "zero", "backup", "last"]);
        // Always draw 0: the first in each running sum (zero weight first).
        let v = order(records, |_| 0);
        assert_eq!(targets(&v), ["zero", "main", "backup", "last"]);
    }

    #[test]
    fn weights_set_the_odds_within_a_priority() {
        // RFC 2782's selection with a real spread of draws: a weight-3
        // record is first about three times as often as a weight-1 one,
        // and a zero-weight one only when the draw is exactly 0.
        let records = vec![rec(1, 1, "light"), rec(1, 3, "heavy"), rec(1, 0, "zero")];
        let mut first = std::collections::HashMap::new();
        let mut seed = 0u32;
        for _ in 0..4000 {
            let v = order(records.clone(), |n| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 8) % (n + 1)
            });
            assert_eq!(v.len(), 3, "every record is kept");
            *first.entry(v[0].target.clone()).or_insert(0) += 1;
        }
        let (light, heavy, zero) = (first["light"], first["heavy"], first.get("zero").copied().unwrap_or(0));
        assert!(zero < 1000 && zero > 0, "zero weight: picked on a draw of 0 only ({zero})");
        let ratio = f64::from(heavy) / f64::from(light);
        assert!((2.3..3.8).contains(&ratio), "heavy {heavy} vs light {light}");
    }

    #[test]
    fn a_lone_dot_target_refuses_the_service() {
        assert!(refused(&[rec(0, 0, ".")]));
        assert!(!refused(&[rec(0, 0, "sip.example")]));
        assert!(!refused(&[]));
    }
}
