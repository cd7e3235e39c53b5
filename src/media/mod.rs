//! Media, sans-IO: codecs, prompts, SDP, RTP pacing and DTMF.
//!
//! Nothing in here touches a socket, a task or the clock: callers pass
//! `now: Instant` and bytes in and take packets, events and the next
//! deadline out (`handle_*` / `poll_*`). `tests/architecture.rs` keeps it so.

pub mod amd;
pub mod dtmf;
pub mod g711;
pub mod prompt;
pub mod relay;
pub mod sdp;
pub mod session;
pub mod sit;
pub mod tones;

pub use prompt::Prompt;
pub use sdp::{Codec, Negotiated, SdpError};
pub use session::{MediaEvent, MediaSession, StreamSeed, Transmit};
