//! The SIP endpoint: our UDP socket, rsipstack's transport, transaction and
//! dialog layers, and the router for incoming requests. The one place where
//! the stack is assembled and configured.

use super::leg::{InboundHandler, InviteRequest, LegFactory, UacLeg};
use super::socket::{CountingSocket, Granted};
use super::{SipError, router, uac};
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
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
    pub trunk_sources: crate::config::Sources,
    /// Refuse requests that break RFC 3261 grammar (see `wire.rs`).
    pub strict_parsing: bool,
}

pub(crate) struct Shared {
    pub dialogs: Arc<DialogLayer>,
    pub local: SocketAddr,
    pub tasks: TaskTracker,
    /// Takes INVITEs from trunks once the daemon has set it; until then
    /// they are answered 480.
    pub inbound: std::sync::OnceLock<Arc<dyn InboundHandler>>,
    /// Challenges and checks trunks that must authenticate their INVITEs.
    pub auth: super::digest_server::Verifier,
}

impl Shared {
    /// `host:port` for From/Contact, IPv6 in brackets.
    pub fn local_host(&self) -> String {
        self.local.to_string()
    }
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
        let transport = TransportLayer::new(cancel.child_token());
        let conn = UdpConnection::from_socket(Arc::new(socket), None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Stack(e.to_string()))?;
        transport.add_transport(conn.into());
        let option = EndpointOption { t1: s.t1, t2: s.t2, t4: s.t4, t1x64: s.t1 * 64, ..Default::default() };
        let endpoint = EndpointBuilder::new()
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
        let shared = Arc::new(Shared { dialogs, local, tasks: tasks.clone(), inbound: Default::default(), auth });
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
    pub async fn ping(&self, target: SocketAddr, host: &str, timeout: Duration) -> Result<u16, String> {
        super::probe::options(&self.shared, target, host, timeout).await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
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
