//! Sending screen pops (seed 004) without delaying the call: each pop runs
//! on its own task, and its result is kept beside the call's view
//! (`crm` / `crm_error` in `GET /v1/calls/{id}`).

use super::screenpop::{self, PopEndpoint, PopFields};
use crate::call::registry::CallRegistry;
use crate::ids::CallId;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

/// Pops `endpoint` for one extension of call `call`.
pub fn spawn(
    tasks: &TaskTracker,
    http: reqwest::Client,
    registry: Arc<CallRegistry>,
    call: CallId,
    endpoint: PopEndpoint,
    fields: PopFields,
) {
    tasks.spawn(async move {
        let req = screenpop::build(&endpoint, &fields);
        let started = Instant::now();
        let r = screenpop::send(&http, &req, endpoint.timeout, &fields.exten_user).await;
        let took = started.elapsed();
        match &r {
            Ok(_) => {
                crate::metrics::screen_pop("ok", took);
                debug!(call = %call, extension = %fields.exten_user, ms = took.as_millis() as u64, "screen pop answered");
            }
            Err(e) => {
                crate::metrics::screen_pop(e.kind(), took);
                warn!(call = %call, extension = %fields.exten_user, error = %e, "screen pop: CRM-side error");
            }
        }
        registry.set_crm(call, r.map_err(|e| e.to_string()));
    });
}
