//! SIP: the one module that knows rsipstack (pinned in Cargo.toml).
//!
//! Call actors see only [`leg`]'s types: an [`InviteRequest`] in, a
//! [`UacLeg`] of events and commands out. `endpoint` assembles the stack,
//! `uac` drives outbound dialogs, `uas` inbound ones, `indialog` answers
//! requests inside either, `router` answers requests that belong to
//! no dialog of ours, `socket` counts the wire, `digest` answers challenges.
//! Limits of the stack we work around are in docs/sip-stack.md.

mod cancel_reason;
pub mod digest;
pub mod digest_server;
mod endpoint;
mod indialog;
pub mod leg;
pub mod policy;
mod probe;
pub mod reason;
mod router;
pub mod session_refresh;
pub mod socket;
mod uac;
mod uas;
pub mod wire;

pub use endpoint::{Listeners, SipEndpoint, SipSettings, TlsMaterial, check_certificate};
pub use leg::{
    Credentials, InboundAuth, InboundHandler, InboundInvite, InviteRequest, LegCommand, LegEvent, LegFactory, UacLeg,
};
pub use uac::parse_retry_after;

/// The stack's tracing target; it logs every datagram (numbers included)
/// at info, so the daemon caps it at warn unless RUST_LOG says otherwise.
pub const STACK_LOG_TARGET: &str = "rsipstack";

/// SIP-layer failures that stop the endpoint from starting.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot bind SIP socket {0}: {1}")]
    Bind(std::net::SocketAddr, std::io::Error),
    #[error("SIP stack: {0}")]
    Stack(String),
    #[error("TLS certificate: {0}")]
    Tls(String),
}
