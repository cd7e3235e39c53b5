//! Calls: the sans-IO machine, outcomes, and (in `actor`) the task that
//! owns one call's leg, RTP socket and state.

pub mod machine;
pub mod outcome;
