//! The systemd watchdog (`WatchdogSec=`): `WATCHDOG=1` is sent only while
//! the daemon's supervisor checks pass, so systemd restarts a dialerd that
//! is alive but stuck. Checked every half interval: the runtime woke the
//! check on time (a starved or blocked runtime does not), and the store
//! answered a query within a quarter interval (a wedged SQLite does not).
//! A failed check is logged and the ping skipped; systemd acts when a
//! whole interval passes without one.

use crate::notify::Notifier;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Why a check failed (sans-IO: the caller measures, this decides).
pub fn verdict(period: Duration, woke_late: Duration, store: Result<Duration, &str>) -> Result<(), String> {
    if woke_late > period / 2 {
        return Err(format!("the runtime woke the check {} ms late", woke_late.as_millis()));
    }
    match store {
        Ok(took) if took <= period / 2 => Ok(()),
        Ok(took) => Err(format!("the store took {} ms to answer", took.as_millis())),
        Err(e) => Err(format!("the store failed: {e}")),
    }
}

pub async fn run(notifier: Arc<Notifier>, store: Arc<dyn Store>, stop: CancellationToken) {
    let Some(interval) = notifier.watchdog() else { return };
    let period = interval / 2;
    let mut next = Instant::now() + period;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(next.into()) => {}
        }
        let woke_late = Instant::now().saturating_duration_since(next);
        next = Instant::now() + period;
        let started = Instant::now();
        let store_result = match tokio::time::timeout(period / 2, store.outbox_depth()).await {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(_)) => Err("query error"),
            Err(_) => Err("no answer in time"),
        };
        match verdict(period, woke_late, store_result) {
            Ok(()) => notifier.watchdog_ping(),
            Err(why) => warn!(why, "watchdog check failed; not pinging systemd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::verdict;
    use std::time::Duration;

    #[test]
    fn a_late_wake_or_a_slow_store_withholds_the_ping() {
        let p = Duration::from_secs(10);
        assert!(verdict(p, Duration::from_millis(5), Ok(Duration::from_millis(3))).is_ok());
        assert!(verdict(p, Duration::from_secs(6), Ok(Duration::from_millis(3))).is_err());
        assert!(verdict(p, Duration::ZERO, Ok(Duration::from_secs(6))).is_err());
        assert!(verdict(p, Duration::ZERO, Err("no answer in time")).unwrap_err().contains("no answer"));
    }
}
