//! The SIP endpoint: our UDP socket, the TCP and TLS listeners, rsipstack's
//! transport, transaction and dialog layers, and the router for incoming
//! requests. The one place where the stack is assembled and configured.
//! TLS uses rustls with the ring provider only; the listener's certificate
//! is swapped in place on reload (handshakes in progress keep the old one).

use super::leg::{InboundHandler, InviteRequest, LegFactory, UacLeg};
use super::socket::{CountingSocket, Granted};
use super::{SipError, router, uac};
use crate::config::SipTransport;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::tls::{TlsConfig, TlsListenerConnection};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Settings the endpoint takes from `[sip]` and the trunk list.
#[derive(Debug, Clone)]
pub struct SipSettings {
    pub listen: SocketAddr,
    pub user_agent: String,
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
    pub recv_buffer_bytes: usize,
    pub send_buffer_bytes: usize,
    /// Sources allowed to send us INVITEs (the trunks' addresses and
    /// `inbound_cidrs`).
    pub trunk_sources: crate::config::SharedSources,
    /// Refuse requests that break RFC 3261 grammar (see `wire.rs`).
    pub strict_parsing: bool,
    pub listen_tcp: Option<SocketAddr>,
    pub listen_tls: Option<SocketAddr>,
    pub tls: TlsMaterial,
    /// A TCP/TLS connection with no traffic this long is closed.
    pub stream_idle_timeout: Duration,
    /// The IP others reach us at, written in Via, Contact and From (ports
    /// stay the listeners').
    pub advertised: Option<std::net::IpAddr>,
    /// RFC 4028 Min-SE: inbound calls never run shorter session intervals.
    pub min_se: u32,
}

/// PEM bytes read from the configured files.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    /// The TLS listener's certificate chain and key.
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
    /// CAs that trunks' certificates must chain to.
    pub ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("cert", &self.cert.is_some()).field("ca", &self.ca.is_some()).finish()
    }
}

/// Where we listen, by transport (Contact and Via name these).
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    pub udp: SocketAddr,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub advertised: Option<std::net::IpAddr>,
}

impl Listeners {
    /// How `local` appears on the wire: the advertised IP, same port.
    pub fn public(&self, local: SocketAddr) -> SocketAddr {
        self.advertised.map_or(local, |ip| SocketAddr::new(ip, local.port()))
    }
}

pub(crate) struct Shared {
    pub dialogs: Arc<DialogLayer>,
    pub local: SocketAddr,
    pub listeners: Listeners,
    pub tasks: TaskTracker,
    /// Takes INVITEs from trunks once the daemon has set it; until then
    /// they are answered 480.
    pub inbound: std::sync::OnceLock<Arc<dyn InboundHandler>>,
    /// Challenges and checks trunks that must authenticate their INVITEs.
    pub auth: super::digest_server::Verifier,
    /// Kept to swap its certificate on reload.
    pub tls_listener: Option<TlsListenerConnection>,
    /// RFC 4028 Min-SE for inbound session timers.
    pub min_se: u32,
    /// Q.850 causes of BYEs the router handed to dialogs, until their leg
    /// takes them (`router.rs`); bounded in case a leg is gone first.
    bye_causes: std::sync::Mutex<std::collections::HashMap<rsipstack::dialog::DialogId, super::reason::Q850>>,
    /// `Reason` on CANCEL both ways (`cancel_reason.rs`).
    pub cancel_reasons: Arc<super::cancel_reason::CancelReasons>,
}

impl Shared {
    /// `host:port` for From/Contact, IPv6 in brackets (the advertised IP
    /// when there is one).
    pub fn local_host(&self) -> String {
        self.listeners.public(self.local).to_string()
    }

    /// Our Contact for a dialog over `transport`: that transport's listener
    /// when we have one. Without one the far end must send in-dialog
    /// requests back over our connection (RFC 5923 `alias` in our Via).
    /// `advertised` overrides the global advertised IP (a trunk's own).
    pub fn contact(&self, user: &str, transport: SipTransport, advertised: Option<std::net::IpAddr>) -> String {
        let l = &self.listeners;
        let on = |a: Option<SocketAddr>| {
            let local = a.unwrap_or(l.udp);
            advertised.map_or_else(|| l.public(local), |ip| SocketAddr::new(ip, local.port()))
        };
        match transport {
            SipTransport::Udp => format!("sip:{user}@{}", on(None)),
            SipTransport::Tcp => format!("sip:{user}@{};transport=tcp", on(l.tcp)),
            SipTransport::Tls => format!("sip:{user}@{};transport=tls", on(l.tls)),
        }
    }
}

impl Shared {
    pub fn remember_bye_cause(&self, id: rsipstack::dialog::DialogId, cause: super::reason::Q850) {
        let mut map = self.bye_causes.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= 4096 {
            map.clear();
        }
        map.insert(id, cause);
    }

    /// The cause the far end's BYE gave for this dialog, once.
    pub fn take_bye_cause(&self, id: &rsipstack::dialog::DialogId) -> Option<super::reason::Q850> {
        self.bye_causes.lock().unwrap_or_else(|e| e.into_inner()).remove(id)
    }
}

/// Where a request goes: an address and transport; a TLS trunk named by
/// host name keeps the name, which the certificate must match (SNI).
pub(crate) fn destination(target: SocketAddr, transport: SipTransport, tls_name: Option<&str>) -> SipAddr {
    let mut addr = SipAddr::from(target);
    addr.r#type = Some(match transport {
        SipTransport::Udp => rsipstack::sip::Transport::Udp,
        SipTransport::Tcp => rsipstack::sip::Transport::Tcp,
        SipTransport::Tls => rsipstack::sip::Transport::Tls,
    });
    if let (SipTransport::Tls, Some(name)) = (transport, tls_name) {
        addr.addr.host = rsipstack::sip::Host::Domain(name.to_string().into());
    }
    addr
}

/// Binds and releases `addr` so a taken port is reported at start, with
/// its address, rather than logged later by the stack's listener task.
fn check_bind(addr: SocketAddr) -> Result<(), SipError> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)
        .map_err(|e| SipError::Bind(addr, e))?;
    socket.set_reuse_address(true).map_err(|e| SipError::Bind(addr, e))?;
    socket.bind(&addr.into()).map_err(|e| SipError::Bind(addr, e))?;
    socket.listen(1).map_err(|e| SipError::Bind(addr, e))?;
    if addr.port() == 0 {
        return Err(SipError::Bind(addr, std::io::Error::other("TCP and TLS listeners need a fixed port")));
    }
    Ok(())
}

/// Parses a certificate chain and key the way the listener will.
pub fn check_certificate(cert: &[u8], key: &[u8]) -> Result<(), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rsipstack::transport::tls::ReloadableCertResolver::new(cert, key, provider).map(|_| ()).map_err(|e| e.to_string())
}

#[derive(Clone)]
pub struct SipEndpoint {
    shared: Arc<Shared>,
    granted: Granted,
}

impl SipEndpoint {
    /// Binds the socket and starts the stack and the router on `tasks`.
    pub async fn start(s: SipSettings, cancel: CancellationToken, tasks: TaskTracker) -> Result<Self, SipError> {
        let (socket, granted) = CountingSocket::bind(
            s.listen,
            s.recv_buffer_bytes,
            s.send_buffer_bytes,
            s.trunk_sources.clone(),
            s.strict_parsing,
        )
        .map_err(|e| SipError::Bind(s.listen, e))?;
        let local = socket.local_addr().map_err(|e| SipError::Bind(s.listen, e))?;
        // The process-wide provider: ring, never aws-lc.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = TransportLayer::new(cancel.child_token());
        // RFC 3261 §18.2.1 / RFC 3581: Via carries the public address;
        // responses to us still go to where requests came from (rport).
        let external = |a: SocketAddr| s.advertised.map(|ip| SocketAddr::new(ip, a.port()));
        let conn = UdpConnection::from_socket(Arc::new(socket), external(local), Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Stack(e.to_string()))?;
        transport.add_transport(conn.into());
        let stack = |e: rsipstack::Error| SipError::Stack(e.to_string());
        if let Some(addr) = s.listen_tcp {
            check_bind(addr)?;
            transport.add_transport(TcpListenerConnection::new(addr, external(addr)).await.map_err(stack)?.into());
        }
        let mut tls_listener = None;
        if let Some(addr) = s.listen_tls {
            let (Some(cert), Some(key)) = (s.tls.cert.clone(), s.tls.key.clone()) else {
                return Err(SipError::Tls("listen_tls needs tls_cert and tls_key".into()));
            };
            check_certificate(&cert, &key).map_err(|e| SipError::Tls(format!("sip.tls_cert, sip.tls_key: {e}")))?;
            check_bind(addr)?;
            let config = TlsConfig { cert: Some(cert), key: Some(key), ..Default::default() };
            let listener = TlsListenerConnection::new(addr, external(addr), config).await.map_err(stack)?;
            transport.add_transport(listener.clone().into());
            tls_listener = Some(listener);
        }
        // Client side of TLS trunks: only the configured CAs are trusted.
        transport.set_tls_config(TlsConfig { ca_certs: s.tls.ca.clone(), ..Default::default() });
        transport.set_stream_idle_timeout(s.stream_idle_timeout);
        let listeners = Listeners { udp: local, tcp: s.listen_tcp, tls: s.listen_tls, advertised: s.advertised };
        let option = EndpointOption { t1: s.t1, t2: s.t2, t4: s.t4, t1x64: s.t1 * 64, ..Default::default() };
        let cancel_reasons = Arc::new(super::cancel_reason::CancelReasons::default());
        let endpoint = EndpointBuilder::new()
            .with_inspector(Box::new(super::cancel_reason::Inspector(cancel_reasons.clone())))
            .with_user_agent(&s.user_agent)
            .with_transport_layer(transport)
            .with_cancel_token(cancel.child_token())
            .with_option(option)
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| SipError::Stack(e.to_string()))?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        // Nonces live five minutes; a new key per start (a restart only costs
        // a trunk one more challenge).
        let auth = super::digest_server::Verifier::new("dialerd", rand::random(), 300);
        let shared = Arc::new(Shared {
            dialogs,
            local,
            listeners,
            tasks: tasks.clone(),
            inbound: Default::default(),
            auth,
            tls_listener,
            min_se: s.min_se,
            bye_causes: Default::default(),
            cancel_reasons,
        });
        tasks.spawn(async move { endpoint.serve().await });
        tasks.spawn(router::run(shared.clone(), incoming, s.trunk_sources, cancel));
        Ok(Self { shared, granted })
    }

    /// Routes INVITEs from trunks to `handler` from now on (set once; the
    /// handler needs the call machinery, built after the endpoint).
    pub fn set_inbound(&self, handler: Arc<dyn InboundHandler>) {
        let _ = self.shared.inbound.set(handler);
    }

    /// OPTIONS to `target` (trunk keepalive): its final status, or why
    /// none came within `timeout`.
    pub async fn ping(
        &self,
        target: SocketAddr,
        transport: SipTransport,
        host: &str,
        timeout: Duration,
    ) -> Result<u16, String> {
        super::probe::options(&self.shared, target, transport, host, timeout).await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    pub fn listeners(&self) -> Listeners {
        self.shared.listeners
    }

    /// The CAs TLS trunks must chain to, for connections opened from now on.
    pub fn set_trusted_cas(&self, ca: Option<Vec<u8>>) {
        let layer = &self.shared.dialogs.endpoint.transport_layer;
        layer.set_tls_config(TlsConfig { ca_certs: ca, ..Default::default() });
    }

    /// Swaps the TLS listener's certificate; a bad pair keeps the old one.
    pub async fn reload_certificate(&self, cert: Vec<u8>, key: Vec<u8>) -> Result<(), String> {
        let Some(listener) = &self.shared.tls_listener else { return Ok(()) };
        check_certificate(&cert, &key)?;
        listener.reload_tls_config(cert, key).await.map_err(|e| e.to_string())
    }

    /// Socket buffer sizes the kernel granted.
    pub fn granted_buffers(&self) -> Granted {
        self.granted
    }

    /// Dialogs the stack still tracks (leak checks in tests, drain).
    pub fn dialog_count(&self) -> usize {
        self.shared.dialogs.len()
    }
}

impl LegFactory for SipEndpoint {
    fn start(&self, req: InviteRequest) -> UacLeg {
        let (leg, events, commands) = UacLeg::channel();
        self.shared.tasks.spawn(uac::run(self.shared.clone(), req, events, commands));
        leg
    }
}
