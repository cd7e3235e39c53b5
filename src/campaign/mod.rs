//! Campaigns: records dialled in order (appended first, FIFO; then the
//! service's sort), paced, retried, inside both calling clocks.

pub mod actor;
pub mod build;
pub mod calendar;
pub mod caller_ids;
pub mod csv;
pub mod explain;
pub mod gate;
pub mod manager;
pub mod model;
pub mod record;
pub mod report;
pub mod retry;
pub mod sched;
pub mod sortkey;
pub mod tzmap;
