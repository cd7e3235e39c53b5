//! One task per trunk with a keepalive: OPTIONS every interval through
//! the SIP endpoint, the result fed to `health.rs`; a trunk that goes
//! down takes no new calls (`Refusal::TrunkDown`, 503 to the API, the
//! campaign tries again later) until it answers again. Live calls are not
//! touched. `dialerd_trunk_up{trunk}` follows.

use super::Trunk;
use super::health::{Change, Health, HealthConfig};
use crate::sip::SipEndpoint;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub async fn run(trunk: Arc<Trunk>, cfg: HealthConfig, sip: SipEndpoint, stop: CancellationToken) {
    let mut health = Health::new(cfg, Instant::now());
    trunk.set_down(false);
    let host = trunk.uri_host();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            // A reload replaced or removed this version of the trunk.
            _ = trunk.retired.cancelled() => return,
            _ = tokio::time::sleep_until(health.next_probe().into()) => {}
        }
        let result = sip.ping(trunk.target, trunk.cfg.transport, &host, trunk.cfg.keepalive_timeout).await;
        match health.handle_result(result.is_ok(), Instant::now()) {
            Change::WentDown => {
                warn!(trunk = %trunk.cfg.name, why = %result.err().unwrap_or_default(), "trunk down: no answer to OPTIONS");
                trunk.set_down(true);
            }
            Change::WentUp => {
                info!(trunk = %trunk.cfg.name, %host, "trunk up: answering OPTIONS again");
                trunk.set_down(false);
            }
            Change::None => {}
        }
    }
}
