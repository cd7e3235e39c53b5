//! Calls: the sans-IO machine and outcomes, and the actor task that owns
//! one call's leg, RTP socket and view; the registry the API reads.

pub mod actor;
pub mod bridge;
mod failover;
mod hold;
pub mod inbound;
pub mod log;
pub mod machine;
pub mod outcome;
pub mod place;
pub mod plan;
pub mod prompts;
pub mod registry;
pub mod rtp;
mod script;
pub mod session_timer;
pub mod transfer;
pub mod view;
