//! RTP ports for calls: one UDP socket per call, from `[media]
//! rtp_port_min..=rtp_port_max`, even ports only (RFC 3550 §11).
//!
//! A rotating cursor rather than a free list: the kernel already knows
//! which ports are taken, and rotation keeps a just-freed port idle for a
//! while so late packets of the previous call do not land in the next.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::net::UdpSocket;

pub struct RtpPorts {
    bind_ip: IpAddr,
    /// What SDP says (`[sip] advertised_address` behind NAT); `ip` by default.
    advertised: IpAddr,
    first: u16,
    count: u32,
    cursor: AtomicU32,
}

impl RtpPorts {
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Self {
        let first = min + (min & 1);
        let count = ((max.saturating_sub(first)) / 2 + 1) as u32;
        Self { bind_ip: ip, advertised: ip, first, count, cursor: AtomicU32::new(rand::random::<u32>() % count.max(1)) }
    }

    /// Binds on `ip` but writes `advertised` into SDP (a host behind NAT,
    /// or listening on a wildcard address).
    pub fn advertising(mut self, advertised: IpAddr) -> Self {
        self.advertised = advertised;
        self
    }

    /// The address SDP offers and answers carry.
    pub fn ip(&self) -> IpAddr {
        self.advertised
    }

    /// Binds the next free even port of the range.
    pub async fn bind(&self) -> io::Result<UdpSocket> {
        let tries = self.count.min(64);
        let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free RTP port");
        for _ in 0..tries {
            let i = self.cursor.fetch_add(1, Ordering::Relaxed) % self.count;
            let port = self.first + (i * 2) as u16;
            match UdpSocket::bind(SocketAddr::new(self.bind_ip, port)).await {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_even_ports_in_range_and_skips_busy_ones() {
        let ports = RtpPorts::new("127.0.0.1".parse().unwrap(), 41_001, 41_010);
        let mut held = Vec::new();
        for _ in 0..5 {
            let s = ports.bind().await.unwrap();
            let p = s.local_addr().unwrap().port();
            assert!(p % 2 == 0 && (41_002..=41_010).contains(&p), "{p}");
            held.push(s);
        }
        // All five even ports are held: the next bind fails cleanly.
        assert!(ports.bind().await.is_err());
        held.pop();
        assert!(ports.bind().await.is_ok());
    }
}
