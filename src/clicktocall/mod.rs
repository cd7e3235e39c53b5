//! Click to call (issue 7, seed 000): a website's backend asks dialerd to
//! connect a visitor with the brand's agents. Nobody may use dialerd to
//! phone strangers, so every request is signed by the site
//! (`signature.rs`, sans-IO) and each nonce is accepted once (the store
//! remembers nonces for the tolerance window, across restarts); the
//! site's rate limits, DNC and calling hours come next (`service.rs`),
//! then one task per request connects the agent and the visitor
//! (`run.rs`). A request with `at` is a callback: it waits as
//! `scheduled` (`schedule.rs` decides when it runs, `timer.rs` wakes it,
//! across restarts).

pub mod run;
pub mod schedule;
pub mod service;
pub mod signature;
pub mod status;
pub mod timer;
