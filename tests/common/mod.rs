//! End-to-end test harness: the real `dialerd` binary, real SIPp peers,
//! loopback only. Every helper fails loudly: a missing `sipp` is a test
//! failure (run `scripts/test`, which installs it), never a silent skip.
#![allow(dead_code)]

pub mod browser;
pub mod dns;
pub mod leads;
pub mod smtp;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

pub const KEY: &str = "test-key-0123456789";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str) -> PathBuf {
    repo().join("tests/sipp").join(name)
}

/// Four consecutive free UDP ports (SIPp's media port takes p..p+3: audio
/// and video RTP/RTCP), from a per-process range so parallel tests and test
/// binaries rarely race for the same ones.
pub fn free_udp_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 90) as u16 * 100;
    loop {
        let p = base + NEXT.fetch_add(4, Ordering::Relaxed) % 100;
        if (p..p + 4).all(|q| !udp_port_bound(q)) {
            return p;
        }
    }
}

pub fn sipp_binary() -> &'static str {
    let ok = Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(ok, "sipp is not installed: run scripts/test (it installs Debian's sip-tester)");
    "sipp"
}

pub struct Daemon {
    child: Child,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    pub dir: tempfile::TempDir,
    log: PathBuf,
    agent: ureq::Agent,
    /// Environment the process gets (and gets again on restart).
    env: Vec<(String, String)>,
}

/// Options for the generated configuration.
#[derive(Default, Clone)]
pub struct Opts {
    /// Extra lines for the `[[trunks]]` table.
    pub trunk: String,
    /// Extra lines for `[calls]`.
    pub calls: String,
    /// Extra lines for `[sip]`.
    pub sip: String,
    /// Extra lines for `[media]`.
    pub media: String,
    /// Extra lines for `[api]`.
    pub api: String,
    /// Whole extra tables appended at the end (e.g. more trunks).
    pub tail: String,
    /// Flows (file name, text) for a dialplans directory of the test's own;
    /// empty: the repository's `dialplans/`.
    pub dialplans: Vec<(String, String)>,
    /// Extra environment variables for the dialerd process.
    pub env: Vec<(String, String)>,
}

impl Daemon {
    pub fn start(trunk_port: u16, opts: Opts) -> Daemon {
        Self::start_listening(trunk_port, opts, "127.0.0.1")
    }

    /// `start` with SIP listening on `ip` (e.g. the wildcard `0.0.0.0`, or
    /// `::1`).
    pub fn start_listening(trunk_port: u16, opts: Opts, ip: &str) -> Daemon {
        let sip_ip = if ip.contains(':') { format!("[{ip}]") } else { ip.to_string() };
        let dir = tempfile::tempdir().unwrap();
        let dialplans = if opts.dialplans.is_empty() {
            repo().join("dialplans")
        } else {
            let d = dir.path().join("dialplans");
            std::fs::create_dir(&d).unwrap();
            for (name, text) in &opts.dialplans {
                std::fs::write(d.join(name), text).unwrap();
            }
            d
        };
        let cfg = format!(
            r#"
[log]
format = "json"
level = "info,dialerd=debug"
[sip]
listen = "{sip_ip}:0"
t1_ms = 50
{sip}
[api]
listen = "127.0.0.1:0"
keys = ["{KEY}"]
{api}
[storage]
data_dir = "{data}"
[media]
prompts_dir = "{prompts}"
rtp_port_min = 30000
rtp_port_max = 39999
{media}
[calls]
hangup_deadline_s = 3
{calls}
[dialplans]
dir = "{dialplans}"
[[trunks]]
name = "sipp"
address = "127.0.0.1:{trunk_port}"
caller_id = "+15550100"
caller_name = "Test Caller"
{limits}
{trunk}
{tail}
"#,
            sip = opts.sip,
            sip_ip = sip_ip,
            data = dir.path().join("var").display(),
            prompts = repo().join("dialplans/prompts").display(),
            media = opts.media,
            api = opts.api,
            calls = opts.calls,
            dialplans = dialplans.display(),
            limits = [("max_cps", "1000"), ("max_concurrent", "1000")]
                .iter()
                .filter(|(k, _)| !opts.trunk.contains(k))
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect::<String>(),
            trunk = opts.trunk,
            tail = opts.tail,
        );
        let path = dir.path().join("dialerd.toml");
        std::fs::write(&path, cfg).unwrap();
        Self::spawn(dir, &path, opts.env)
    }

    fn spawn(dir: tempfile::TempDir, config: &Path, env: Vec<(String, String)>) -> Daemon {
        let log = dir.path().join("dialerd.log");
        let (child, sip, http) = Self::launch(config, &log, &env);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Daemon { child, sip, http, dir, log, agent, env }
    }

    /// `kill -9`, then start again on the same configuration and data
    /// (new ports; the previous log is kept as `dialerd.log.1`).
    pub fn kill9_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let _ = std::fs::rename(&self.log, self.dir.path().join("dialerd.log.1"));
        let config = self.dir.path().join("dialerd.toml");
        let (child, sip, http) = Self::launch(&config, &self.log, &self.env);
        (self.child, self.sip, self.http) = (child, sip, http);
    }

    /// Any method with a JSON body (or none), as the given bearer.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>, bearer: &str) -> (u16, Value) {
        let url = self.url(path);
        let auth = format!("Bearer {bearer}");
        let mut resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self.agent.delete(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => self.agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => self.agent.post(&url).header("Authorization", &auth).send_empty(),
            ("PUT", Some(b)) => self.agent.put(&url).header("Authorization", &auth).send_json(b),
            (m, _) => panic!("method {m}"),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    /// `send` with the test key.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.send(method, path, body, KEY)
    }

    /// GET with the test key, the body as text.
    pub fn get_auth_text(&self, path: &str) -> (u16, String) {
        let mut resp =
            self.agent.get(&self.url(path)).header("Authorization", &format!("Bearer {KEY}")).call().unwrap();
        (resp.status().as_u16(), resp.body_mut().read_to_string().unwrap_or_default())
    }

    /// POST a text body with a content type; returns (status, JSON body).
    /// A request with only the given headers (no bearer key): GET when
    /// `body` is `None`, else a JSON POST of exactly `body`.
    pub fn raw(&self, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, Value) {
        let url = self.url(path);
        let mut resp = match body {
            None => {
                let mut r = self.agent.get(&url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call().unwrap()
            }
            Some(b) => {
                let mut r = self.agent.post(&url).header("Content-Type", "application/json");
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.send(b).unwrap()
            }
        };
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    pub fn post_text(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let mut resp = self
            .agent
            .post(&self.url(path))
            .header("Authorization", &format!("Bearer {KEY}"))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    fn launch(config: &Path, log: &Path, env: &[(String, String)]) -> (Child, SocketAddr, SocketAddr) {
        let child = Command::new(env!("CARGO_BIN_EXE_dialerd"))
            .arg("--config")
            .arg(config)
            .env_remove("RUST_LOG")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start dialerd");
        let deadline = Instant::now() + Duration::from_secs(20);
        let (sip, http) = loop {
            if let Some(found) = ready_line(log) {
                break found;
            }
            assert!(
                Instant::now() < deadline,
                "dialerd did not become ready:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        (child, sip, http)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// POST /v1/calls; returns (status, body).
    pub fn post_call(&self, body: Value) -> (u16, Value) {
        let (s, b, _) = self.post_call_full(body);
        (s, b)
    }

    pub fn post_call_full(&self, body: Value) -> (u16, Value, Option<String>) {
        let mut resp = self
            .agent
            .post(&self.url("/v1/calls"))
            .header("Authorization", &format!("Bearer {KEY}"))
            .send_json(&body)
            .expect("POST /v1/calls");
        let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null), retry)
    }

    /// Places a call and returns its id, asserting 201.
    pub fn call(&self, body: Value) -> String {
        let (status, v) = self.post_call(body);
        assert_eq!(status, 201, "POST /v1/calls: {v}");
        v["id"].as_str().unwrap().to_string()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let mut resp =
            self.agent.get(&self.url(path)).header("Authorization", &format!("Bearer {KEY}")).call().unwrap();
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    pub fn get_text(&self, path: &str) -> String {
        self.agent.get(&self.url(path)).call().unwrap().body_mut().read_to_string().unwrap()
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        let mut resp =
            self.agent.delete(&self.url(path)).header("Authorization", &format!("Bearer {KEY}")).call().unwrap();
        (resp.status().as_u16(), resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    pub fn call_view(&self, id: &str) -> Value {
        let (status, v) = self.get(&format!("/v1/calls/{id}"));
        assert_eq!(status, 200, "GET call {id}: {v}");
        v
    }

    /// Polls until the call has the given state.
    pub fn wait_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.call_view(id);
            if v["state"] == state {
                return v;
            }
            assert!(Instant::now() < deadline, "call {id} never reached {state}: {v:#}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_ended(&self, id: &str, timeout: Duration) -> Value {
        self.wait_state(id, "ended", timeout)
    }

    /// The newest call of the call log (written in batches, so waited
    /// for), once ended: an inbound call's view.
    pub fn first_logged_call(&self, timeout: Duration) -> Value {
        let id = leads::wait_for("a call in the call log", timeout, || {
            let (_, v) = self.api("GET", "/v1/calls", None);
            v["calls"][0]["id"].as_str().map(str::to_string)
        });
        self.wait_ended(&id, timeout)
    }

    /// A metric's value summed over the label sets that contain `labels`.
    pub fn metric(&self, name: &str, labels: &str) -> f64 {
        metric_value(&self.get_text("/metrics"), name, labels)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for exit; returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.wait_exit(timeout)
    }

    /// Sends a signal (`-TERM`, `-HUP`...) to the dialerd process.
    pub fn signal(&self, sig: &str) {
        Command::new("kill").arg(sig).arg(self.child.id().to_string()).status().unwrap();
    }

    /// Waits for the process to exit (after a signal sent earlier).
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "dialerd did not exit after SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("---- dialerd log (last 60 lines) ----");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

fn ready_line(log: &Path) -> Option<(SocketAddr, SocketAddr)> {
    let f = std::fs::File::open(log).ok()?;
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["message"] == "dialerd ready"
        {
            return Some((v["sip"].as_str()?.parse().ok()?, v["http"].as_str()?.parse().ok()?));
        }
    }
    None
}

pub fn metric_value(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.split(',').filter(|s| !s.is_empty()).all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A SIPp process playing one scenario.
pub struct Sipp {
    child: Child,
    pub port: u16,
    pub media_port: u16,
    stat: PathBuf,
    out: PathBuf,
    _dir: tempfile::TempDir,
    _scenario_dir: Option<tempfile::TempDir>,
}

#[derive(Debug)]
pub struct SippResult {
    pub exit: Option<i32>,
    pub successful: u64,
    pub failed: u64,
    pub output: String,
    /// Every message SIPp sent and received (`-trace_msg`).
    pub messages: String,
}

impl Sipp {
    /// A UAS on a free port answering `calls` calls with `scenario_file`.
    pub fn uas(scenario_file: &str, calls: u32) -> Sipp {
        Self::uas_with(scenario_file, calls, &[])
    }

    /// A UAC on `local_ip` sending `calls` calls of `scenario_file` to `remote`.
    pub fn uac(scenario_file: &str, remote: SocketAddr, local_ip: &str, calls: u32) -> Sipp {
        let remote = remote.to_string();
        Self::spawn(scenario_file, calls, local_ip, &[remote.as_str(), "-r", "10"])
    }

    /// A UAC whose scenario has placeholders (`@DID@`...) replaced first.
    pub fn uac_templated(scenario_file: &str, remote: SocketAddr, replacements: &[(&str, &str)]) -> Sipp {
        let remote = remote.to_string();
        Self::templated(scenario_file, replacements, &[remote.as_str(), "-r", "10"])
    }

    /// `uac_templated` with extra SIPp arguments (`-t t1` for TCP...).
    pub fn uac_templated_with(
        scenario_file: &str,
        remote: SocketAddr,
        replacements: &[(&str, &str)],
        extra: &[&str],
    ) -> Sipp {
        let remote = remote.to_string();
        let mut args = vec![remote.as_str(), "-r", "10"];
        args.extend_from_slice(extra);
        Self::templated(scenario_file, replacements, &args)
    }

    pub fn uas_with(scenario_file: &str, calls: u32, extra: &[&str]) -> Sipp {
        Self::spawn(scenario_file, calls, "127.0.0.1", extra)
    }

    /// A UAS whose scenario has placeholders (`@DIGIT@`, `@AUDIO@`...)
    /// replaced first.
    pub fn uas_templated(scenario_file: &str, replacements: &[(&str, &str)]) -> Sipp {
        Self::uas_templated_with(scenario_file, replacements, &[])
    }

    /// `uas_templated` with extra SIPp arguments (`-rtp_echo`...).
    pub fn uas_templated_with(scenario_file: &str, replacements: &[(&str, &str)], extra: &[&str]) -> Sipp {
        Self::templated(scenario_file, replacements, extra)
    }

    /// One SIPp running a copy of `scenario_file` with its placeholders
    /// replaced (kept in a temporary directory for the run).
    fn templated(scenario_file: &str, replacements: &[(&str, &str)], args: &[&str]) -> Sipp {
        Self::templated_on(scenario_file, replacements, "127.0.0.1", args)
    }

    /// `templated` with SIP and media on `ip` (`::1` for IPv6); `args`
    /// holds the remote address for a UAC.
    pub fn templated_on(scenario_file: &str, replacements: &[(&str, &str)], ip: &str, args: &[&str]) -> Sipp {
        let mut text = std::fs::read_to_string(scenario(scenario_file)).unwrap();
        for (from, to) in replacements {
            text = text.replace(from, to);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(scenario_file);
        std::fs::write(&path, text).unwrap();
        let mut sipp = Self::spawn(path.to_str().unwrap(), 1, ip, args);
        sipp._scenario_dir = Some(dir);
        sipp
    }

    fn spawn(scenario_file: &str, calls: u32, ip: &str, extra: &[&str]) -> Sipp {
        let port = free_udp_port();
        let media_port = free_udp_port();
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("stat.csv");
        let out = dir.path().join("sipp.out");
        let mut cmd = Command::new(sipp_binary());
        let file =
            if Path::new(scenario_file).is_absolute() { PathBuf::from(scenario_file) } else { scenario(scenario_file) };
        cmd.arg("-sf")
            .arg(file)
            .args(["-i", ip, "-p", &port.to_string(), "-mi", ip, "-mp", &media_port.to_string()])
            .args(["-m", &calls.to_string(), "-nostdin", "-trace_stat", "-stf"])
            .arg(&stat)
            .args(["-fd", "1", "-timeout", "60s", "-trace_err", "-error_file"])
            .arg(dir.path().join("errors.log"))
            .args(["-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start sipp");
        // SIPp binds within a few ms; give it a moment so the first INVITE
        // does not race the bind.
        let deadline = Instant::now() + Duration::from_secs(5);
        // Over TCP (`-t t1`) SIPp listens instead of binding UDP.
        while !udp_port_bound(port) && !tcp_listening(port) {
            if Instant::now() > deadline || child_exited(&mut child) {
                panic!(
                    "sipp did not bind port {port}:\n{}",
                    std::fs::read_to_string(&out).unwrap_or_default()
                        + &std::fs::read_to_string(dir.path().join("errors.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Sipp { child, port, media_port, stat, out, _dir: dir, _scenario_dir: None }
    }

    /// Waits for SIPp to finish its calls and reads its own counters.
    pub fn wait(mut self, timeout: Duration) -> SippResult {
        let deadline = Instant::now() + timeout;
        let exit = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (successful, failed) = read_stat(&self.stat);
        let mut output = std::fs::read_to_string(&self.out).unwrap_or_default();
        if let Ok(errors) = std::fs::read_to_string(self._dir.path().join("errors.log")) {
            output.push_str("\n--- sipp errors ---\n");
            output.push_str(&errors);
        }
        let messages = std::fs::read_to_string(self._dir.path().join("messages.log")).unwrap_or_default();
        SippResult { exit, successful, failed, output, messages }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_stat(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return (0, 0) };
    let Some(last) = text.lines().rfind(|l| !l.is_empty()) else { return (0, 0) };
    let cols: Vec<&str> = header.split(';').collect();
    let vals: Vec<&str> = last.split(';').collect();
    let get = |name: &str| {
        cols.iter().position(|c| *c == name).and_then(|i| vals.get(i)).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    (get("SuccessfulCall(C)"), get("FailedCall(C)"))
}

/// The standard body for a call to the SIPp trunk.
pub fn call_body(extra: Value) -> Value {
    let mut b = json!({"to": "+15551234567", "trunk": "sipp"});
    if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    b
}

/// One call through a SIPp UAS playing `scenario`: the daemon (for metrics),
/// the ended call's view, and SIPp's own result (not yet asserted).
pub fn one_call(scenario: &str, opts: Opts, body: Value) -> (Daemon, Value, SippResult) {
    let sipp = Sipp::uas(scenario, 1);
    let d = Daemon::start(sipp.port, opts);
    let id = d.call(call_body(body));
    let v = d.wait_ended(&id, Duration::from_secs(20));
    let r = sipp.wait(Duration::from_secs(20));
    (d, v, r)
}

/// The `type` of every event of a call view, in order.
pub fn event_types(v: &Value) -> Vec<String> {
    v["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

/// The `cause` of the call's hangup event.
pub fn hangup_cause(v: &Value) -> &Value {
    &v["events"].as_array().unwrap().last().unwrap()["cause"]
}

/// Trunk credentials SIPp's auth scenarios expect.
pub fn alice(password: &str) -> Opts {
    Opts { trunk: format!("username = \"alice\"\npassword = \"{password}\""), ..Opts::default() }
}

/// Asserts SIPp saw exactly `ok` successful and no failed calls.
pub fn assert_sipp(r: &SippResult, ok: u64) {
    assert_eq!((r.successful, r.failed), (ok, 0), "SIPp counts (exit {:?}):\n{}", r.exit, r.output);
    assert_eq!(r.exit, Some(0), "SIPp exit code:\n{}", r.output);
}

fn child_exited(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(Some(_)))
}

/// Whether some process has bound UDP `port` (read from /proc, so the
/// check itself never takes the port).
pub fn udp_port_bound(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| l.split_whitespace().nth(1).is_some_and(|local| format!("{local} ").ends_with(&needle)))
    })
}

/// Whether some process listens on TCP `port` (from /proc, like
/// [`udp_port_bound`]: state 0A is LISTEN).
pub fn tcp_listening(port: u16) -> bool {
    let needle = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().skip(1).any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&needle) && cols[3] == "0A"
        })
    })
}

/// A free TCP port on loopback (the kernel picks; released at once).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a command that makes test audio (sox, espeak-ng); fails loudly when
/// the tool is missing (scripts/test installs them).
pub fn make_audio(cmd: &str, args: &[&str]) {
    let status =
        Command::new(cmd).args(args).stderr(Stdio::null()).status().unwrap_or_else(|e| {
            panic!("{cmd} is not installed ({e}): run scripts/test, which installs sox and espeak-ng")
        });
    assert!(status.success(), "{cmd} {args:?} failed");
}
