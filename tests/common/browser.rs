//! A real browser for end-to-end tests of the pages leads open (seed 001):
//! Debian's headless Chromium driven through chromedriver over the W3C
//! WebDriver HTTP protocol, with ureq, on loopback only. Every helper fails
//! loudly, naming the selector and the page it was on; a missing Chromium
//! or chromedriver fails the test: run `scripts/test`, which installs them.
//! A selector may reach into shadow roots with `>>>`: `#host >>> #inner`
//! finds `#inner` in the shadow root of `#host` (the callback widget).

use serde_json::{Value, json};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C name of an element reference in WebDriver replies.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The W3C name of a shadow root reference.
const SHADOW: &str = "shadow-6066-11e4-a52e-4f735466cecf";

/// An error WebDriver reported, e.g. `no such element`.
#[derive(Debug)]
struct WdError {
    error: String,
    message: String,
}

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// Chromium session.
    pub fn start() -> Browser {
        for tool in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run scripts/test (it installs Debian's chromium and chromium-driver)"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("chromedriver.log");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        // The port is free when we look and could be taken before
        // chromedriver binds it; a driver that exits early gets another.
        let mut attempts = 0;
        let (driver, base) = loop {
            attempts += 1;
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so Drop can end Chromium's
                // processes too even if the session never closes.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {CHROMEDRIVER}: {e}; run scripts/test"));
            let base = format!("http://127.0.0.1:{port}");
            if wait_ready(&agent, &base, &mut driver) {
                break (driver, base);
            }
            kill_group(&mut driver);
            assert!(attempts < 3, "chromedriver did not start; its log:\n{}", tail(&log));
        };
        let mut b = Browser { driver, base, session: String::new(), agent, log, _dir: dir };
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }}}});
        let v = read(b.agent.post(&format!("{}/session", b.base)).send_json(caps)).unwrap_or_else(|e| {
            panic!("chromedriver could not start Chromium: {e:?}; chromedriver log:\n{}", tail(&b.log))
        });
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        // Short enough that a hung page fails the test well within its own
        // timeouts; implicit 0 so `exists` answers at once.
        b.post("/timeouts", json!({"pageLoad": 30_000, "script": 30_000, "implicit": 0}))
            .unwrap_or_else(|e| panic!("cannot set timeouts: {e:?}"));
        b
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).unwrap_or_else(|e| panic!("cannot open {url}: {e:?}"));
    }

    /// Clicks the first element matching `css`. A click that submits a form
    /// or follows a link loads the next page before the next command runs.
    pub fn click(&self, css: &str) {
        let r = self.find(css).and_then(|id| self.post(&format!("/element/{id}/click"), json!({})));
        if let Err(e) = r {
            panic!("cannot click {css:?} on {}: {e:?}", self.current_url());
        }
    }

    /// The rendered text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        self.try_text(css).unwrap_or_else(|e| panic!("no text for {css:?} on {}: {e:?}", self.current_url()))
    }

    /// The current page's HTML, as the browser now has it.
    pub fn source(&self) -> String {
        let v = self.get("/source").unwrap_or_else(|e| panic!("cannot read the page source: {e:?}"));
        v.as_str().unwrap_or_default().to_string()
    }

    /// Whether any element matches `css` now (no waiting).
    pub fn exists(&self, css: &str) -> bool {
        if css.contains(">>>") {
            return match self.find(css) {
                Ok(_) => true,
                Err(e) if e.error == "no such element" || e.error == "no such shadow root" => false,
                Err(e) => panic!("cannot look for {css:?}: {e:?}"),
            };
        }
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .unwrap_or_else(|e| panic!("cannot look for {css:?}: {e:?}"));
        v.as_array().is_some_and(|a| !a.is_empty())
    }

    /// Waits until the first element matching `css` exists and its text
    /// contains `contains`; returns the text. For what changes after a
    /// click or a script runs.
    pub fn wait_text(&self, css: &str, contains: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.try_text(css);
            if let Ok(t) = &last
                && t.contains(contains)
            {
                return t.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css:?} on {} did not contain {contains:?} within {timeout:?}; last: {last:?}",
                    self.current_url()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until an element matches `css`.
    pub fn wait_exists(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.exists(css) {
            assert!(Instant::now() < deadline, "no {css:?} on {} within {timeout:?}", self.current_url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clears the input matching `css` and types `text` into it.
    pub fn type_text(&self, css: &str, text: &str) {
        let r = self.find(css).and_then(|id| {
            self.post(&format!("/element/{id}/clear"), json!({}))?;
            self.post(&format!("/element/{id}/value"), json!({ "text": text }))
        });
        if let Err(e) = r {
            panic!("cannot type into {css:?} on {}: {e:?}", self.current_url());
        }
    }

    /// An attribute of the first element matching `css` (`None` if absent).
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let id = self.find(css).unwrap_or_else(|e| panic!("no {css:?} on {}: {e:?}", self.current_url()));
        let v = self
            .get(&format!("/element/{id}/attribute/{name}"))
            .unwrap_or_else(|e| panic!("cannot read {name} of {css:?}: {e:?}"));
        v.as_str().map(str::to_string)
    }

    /// The current value of the input matching `css` (what was typed).
    pub fn value(&self, css: &str) -> String {
        let id = self.find(css).unwrap_or_else(|e| panic!("no {css:?} on {}: {e:?}", self.current_url()));
        let v = self.get(&format!("/element/{id}/property/value")).unwrap_or_else(|e| panic!("{css:?}: {e:?}"));
        v.as_str().unwrap_or_default().to_string()
    }

    /// The address of the current page.
    pub fn current_url(&self) -> String {
        match self.get("/url") {
            Ok(v) => v.as_str().unwrap_or_default().to_string(),
            Err(e) => format!("<unknown page: {e:?}>"),
        }
    }

    fn try_text(&self, css: &str) -> Result<String, WdError> {
        let id = self.find(css)?;
        let v = self.get(&format!("/element/{id}/text"))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The first element matching `css`, through shadow roots at each `>>>`.
    fn find(&self, css: &str) -> Result<String, WdError> {
        let mut scope = String::new();
        let mut id = String::new();
        for (i, part) in css.split(">>>").map(str::trim).enumerate() {
            if i > 0 {
                let v = self.get(&format!("/element/{id}/shadow"))?;
                let root = v[SHADOW].as_str().ok_or_else(|| bad_reply(&v))?;
                scope = format!("/shadow/{root}");
            }
            let v = self.post(&format!("{scope}/element"), json!({"using": "css selector", "value": part}))?;
            id = v[ELEMENT].as_str().map(String::from).ok_or_else(|| bad_reply(&v))?;
        }
        Ok(id)
    }

    /// A GET on this session; `path` starts after `/session/{id}`.
    fn get(&self, path: &str) -> Result<Value, WdError> {
        read(self.agent.get(&format!("{}/session/{}{path}", self.base, self.session)).call())
    }

    /// A POST on this session; `path` starts after `/session/{id}`.
    fn post(&self, path: &str, body: Value) -> Result<Value, WdError> {
        read(self.agent.post(&format!("{}/session/{}{path}", self.base, self.session)).send_json(body))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Closing the session lets chromedriver end Chromium cleanly and
            // remove its temporary profile; the group kill below is for
            // whatever that leaves.
            let quick: ureq::Agent =
                ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5))).build().into();
            let _ = quick.delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        kill_group(&mut self.driver);
    }
}

fn bad_reply(v: &Value) -> WdError {
    WdError { error: "bad reply".into(), message: v.to_string() }
}

/// A WebDriver reply's `value`, or the error it reports.
fn read(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Value, WdError> {
    let mut resp = r.map_err(|e| WdError { error: "transport".into(), message: e.to_string() })?;
    let ok = resp.status().is_success();
    let v: Value = resp
        .body_mut()
        .read_json()
        .map_err(|e| WdError { error: "unreadable reply".into(), message: e.to_string() })?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if ok {
        return Ok(value);
    }
    let s = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    Err(WdError { error: s("error"), message: s("message") })
}

/// Polls `/status` until the driver is ready; false if it exits or takes
/// longer than 20 s.
fn wait_ready(agent: &ureq::Agent, base: &str, driver: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = driver.try_wait() {
            return false;
        }
        if let Ok(v) = read(agent.get(&format!("{base}/status")).call())
            && v["ready"] == true
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn kill_group(child: &mut Child) {
    // No libc here: kill(1) signals the whole group (chromedriver started it
    // with its own pid as the group id).
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).stderr(Stdio::null()).status();
    let _ = child.kill();
    let _ = child.wait();
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
