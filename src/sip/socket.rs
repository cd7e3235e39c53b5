//! The SIP UDP socket handed to rsipstack.
//!
//! We create and own it so that (a) its kernel buffers are sized from config
//! (the 64 KB default drops datagrams near 5,000 CPS), (b) every datagram is
//! counted at the wire: messages by direction and kind, and malformed
//! datagrams, which rsipstack would otherwise drop without a trace, and (c)
//! `wire.rs` sees each request first: strict RFC 3261 checks rsipstack's
//! parser skips, and stateless answers for valid requests it refuses.

use super::{policy, wire};
use crate::config::SharedSources as Sources;
use crate::metrics as m;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;

pub struct CountingSocket {
    inner: tokio::net::UdpSocket,
    trunk_sources: Sources,
    strict: bool,
}

/// What happens to one received datagram.
enum Inspect {
    /// Hand it to rsipstack.
    Pass,
    /// Answered here, statelessly.
    Answer(Vec<u8>, &'static str),
    /// Dropped as malformed.
    Drop,
}

/// Buffer sizes the kernel actually granted (it may clamp to rmem_max).
#[derive(Debug, Clone, Copy)]
pub struct Granted {
    pub recv: usize,
    pub send: usize,
}

impl CountingSocket {
    pub fn bind(
        addr: SocketAddr,
        recv_buf: usize,
        send_buf: usize,
        trunk_sources: Sources,
        strict: bool,
    ) -> io::Result<(Self, Granted)> {
        let domain = if addr.is_ipv6() { Domain::IPV6 } else { Domain::IPV4 };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        if recv_buf > 0 {
            socket.set_recv_buffer_size(recv_buf)?;
        }
        if send_buf > 0 {
            socket.set_send_buffer_size(send_buf)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        // Linux reports twice the requested size (bookkeeping overhead).
        let granted = Granted { recv: socket.recv_buffer_size()? / 2, send: socket.send_buffer_size()? / 2 };
        let inner = tokio::net::UdpSocket::from_std(socket.into())?;
        Ok((Self { inner, trunk_sources, strict }, granted))
    }

    fn inspect(&self, datagram: &[u8], from: SocketAddr) -> Inspect {
        let Some(msg) = wire::scan(datagram) else { return Inspect::Drop };
        let (method, in_dialog) = match &msg.start {
            wire::Start::Response { code: None } => return Inspect::Drop,
            wire::Start::Response { .. } => return if parses(datagram) { Inspect::Pass } else { Inspect::Drop },
            wire::Start::Request { method, .. } => {
                let tagged = msg.header("to").is_some_and(|t| t.contains(";tag") || t.contains("; tag"));
                (method.clone(), tagged)
            }
        };
        let to_tag = || format!("{:08x}", rand::random::<u32>());
        if self.strict {
            match wire::lint(&msg) {
                wire::Verdict::Pass => {}
                wire::Verdict::Drop(_) => return Inspect::Drop,
                wire::Verdict::Reject(status, why) => {
                    tracing::debug!(%from, status, why, "refused a malformed request");
                    return Inspect::Answer(
                        wire::response(&msg, status, wire::reason_phrase(status), &to_tag(), &[]),
                        "malformed",
                    );
                }
            }
        }
        if wire::has_rfc3261_branch(&msg) && parses(datagram) {
            return Inspect::Pass;
        }
        // Valid, but refused by the stack's parser or without a branch the
        // transaction layer can key: answer by policy, statelessly.
        match policy::answer(&method, in_dialog, self.trunk_sources.contains(from.ip())) {
            None => Inspect::Drop,
            Some((status, reason)) => {
                let extra: &[(&str, &str)] = if status == 405 { &[("Allow", policy::ALLOW)] } else { &[] };
                Inspect::Answer(
                    wire::response(&msg, status, wire::reason_phrase(status), &to_tag(), extra),
                    reason.unwrap_or("stateless"),
                )
            }
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The message kind for metrics: the method of a request, the status code
/// of a response, or `None` when the start line is not SIP.
pub fn kind(datagram: &[u8]) -> Option<&str> {
    let line_end = datagram.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(datagram.len());
    let line = std::str::from_utf8(&datagram[..line_end.min(256)]).ok()?;
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let code = rest.get(..3)?;
        return code.bytes().all(|b| b.is_ascii_digit()).then_some(code);
    }
    let method = line.split(' ').next()?;
    let known = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "UPDATE",
        "INFO",
        "REFER",
        "NOTIFY",
        "SUBSCRIBE",
        "MESSAGE",
        "PUBLISH",
    ];
    Some(known.into_iter().find(|k| *k == method).unwrap_or("other"))
}

/// Whether rsipstack's parser accepts the datagram. Keep-alives (blank
/// datagrams) count as fine; rsipstack answers them itself.
fn parses(datagram: &[u8]) -> bool {
    datagram.iter().all(|b| b.is_ascii_whitespace()) || rsipstack::sip::SipMessage::try_from(datagram).is_ok()
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for CountingSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.inner.recv_from(buf).await?;
            let datagram = &buf[..len];
            if datagram.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok((len, from)); // keep-alive; rsipstack answers it
            }
            match self.inspect(datagram, from) {
                Inspect::Pass => {
                    m::sip_message("in", kind(datagram).unwrap_or("other"));
                    return Ok((len, from));
                }
                Inspect::Answer(response, reason) => {
                    if reason == "malformed" {
                        m::sip_malformed();
                    } else {
                        m::sip_message("in", kind(datagram).unwrap_or("other"));
                    }
                    m::sip_rejected(reason);
                    if let Some(k) = kind(&response) {
                        m::sip_message("out", k);
                    }
                    let _ = self.inner.send_to(&response, from).await;
                }
                Inspect::Drop => {
                    m::sip_malformed();
                    tracing::debug!(%from, len, "dropped a malformed SIP datagram");
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        if let Some(k) = kind(buf) {
            m::sip_message("out", k);
        }
        Ok(self.inner.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind(b"INVITE sip:1@h SIP/2.0\r\n"), Some("INVITE"));
        assert_eq!(kind(b"SIP/2.0 486 Busy Here\r\n"), Some("486"));
        assert_eq!(kind(b"FOO sip:1@h SIP/2.0\r\n"), Some("other"));
        assert_eq!(kind(b"SIP/2.0 4x6 Busy\r\n"), None);
        assert_eq!(kind(&[0xff, 0xfe, b'\r']), None);
    }

    #[test]
    fn parser_verdicts() {
        let ok = b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        assert!(parses(ok));
        assert!(parses(b"\r\n\r\n"));
        assert!(!parses(b"hello world"));
    }
}
