//! systemd's notification protocol (sd_notify(3)), for `Type=notify`
//! units: `READY=1` once the listeners and the store are up, `RELOADING=1`
//! around a SIGHUP reload, `STOPPING=1` when the drain starts, and
//! `WATCHDOG=1` while the supervisor's checks pass (`WatchdogSec=`).
//!
//! One datagram per message to the socket named by `NOTIFY_SOCKET` (a
//! path, or `@name` in the abstract namespace). Without that variable
//! (not under systemd) every call does nothing. Written here rather than
//! taken from a crate: it is a dozen lines over `UnixDatagram`.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;
use tracing::warn;

pub struct Notifier {
    target: Option<Target>,
    watchdog: Option<Duration>,
}

enum Target {
    Path(std::path::PathBuf),
    Abstract(Vec<u8>),
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` (honoured only when
    /// `WATCHDOG_PID` is absent or ours, as sd_watchdog_enabled(3) says).
    pub fn from_env() -> Notifier {
        Self::from_vars(|k| std::env::var(k).ok(), std::process::id())
    }

    fn from_vars(get: impl Fn(&str) -> Option<String>, pid: u32) -> Notifier {
        let target = get("NOTIFY_SOCKET").filter(|s| !s.is_empty()).map(|s| match s.strip_prefix('@') {
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            None => Target::Path(s.into()),
        });
        let ours = get("WATCHDOG_PID").is_none_or(|p| p.trim() == pid.to_string());
        let watchdog = get("WATCHDOG_USEC")
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| *u > 0 && ours)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// The watchdog interval systemd expects pings within, if enabled.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`KEY=value` lines); failures are logged once per
    /// call and otherwise ignored, as systemd itself would not notice them.
    pub fn send(&self, msg: &str) {
        let Some(target) = &self.target else { return };
        let sent = UnixDatagram::unbound().and_then(|s| match target {
            Target::Path(p) => s.send_to(msg.as_bytes(), p),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                s.send_to_addr(msg.as_bytes(), &addr)
            }
        });
        if let Err(e) = sent {
            warn!(error = %e, "cannot notify systemd");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}\nMAINPID={}", std::process::id()));
    }

    /// Before a reload; `ready` again after it (systemd's reload protocol
    /// for `Type=notify` with `ExecReload=kill -HUP`).
    pub fn reloading(&self) {
        self.send("RELOADING=1\nSTATUS=reloading");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=draining");
    }

    pub fn watchdog_ping(&self) {
        self.send("WATCHDOG=1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn messages_reach_the_socket_and_nothing_happens_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        let p = path.to_str().unwrap().to_string();
        let n = Notifier::from_vars(move |k| (k == "NOTIFY_SOCKET").then(|| p.clone()), 1);
        n.ready("serving");
        let mut buf = [0u8; 256];
        let len = sock.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(msg.starts_with("READY=1\nSTATUS=serving\nMAINPID="), "{msg}");
        assert!(!Notifier::from_vars(|_| None, 1).enabled());
        Notifier::from_vars(|_| None, 1).ready("nobody listens"); // no panic, no error
    }

    #[test]
    fn the_watchdog_is_ours_only_when_systemd_says_so() {
        let n = Notifier::from_vars(vars(&[("WATCHDOG_USEC", "3000000")]), 42);
        assert_eq!(n.watchdog(), Some(Duration::from_secs(3)));
        let n = Notifier::from_vars(vars(&[("WATCHDOG_USEC", "3000000"), ("WATCHDOG_PID", "42")]), 42);
        assert_eq!(n.watchdog(), Some(Duration::from_secs(3)));
        let other = Notifier::from_vars(vars(&[("WATCHDOG_USEC", "3000000"), ("WATCHDOG_PID", "7")]), 42);
        assert_eq!(other.watchdog(), None, "a watchdog meant for another process");
        assert_eq!(Notifier::from_vars(vars(&[("WATCHDOG_USEC", "x")]), 42).watchdog(), None);
    }
}
