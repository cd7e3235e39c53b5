//! dialerd: a telephony dialer daemon.
//!
//! Layout (see `docs/architecture.md`):
//! - `media`, `call::machine`, `trunk::admission`: logic we own, sans-IO.
//! - `sip`: the only module that knows rsipstack.
//! - `call::actor`, `api`, `daemon`: tasks and sockets.

pub mod agents;
pub mod api;
pub mod auth;
pub mod call;
pub mod campaign;
pub mod clicktocall;
pub mod config;
pub mod daemon;
pub mod dialplan;
pub mod events;
pub mod ids;
pub mod leads;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod pii;
pub mod reload;
pub mod sip;
pub mod store;
pub mod trunk;
pub mod watchdog;
