//! `hook_receiver`: a loopback HTTP receiver that times dialerd's outgoing
//! requests, for `bench/events`.
//!
//! `hook_receiver serve --listen 127.0.0.1:PORT --out FILE [--secret S] [--samples TSV]`
//!   - `POST /hook`: a status webhook. Records the arrival (wall clock, taken
//!     first thing in the handler), the event's `type`, `id`, `call_id` and
//!     `at`, and whether `Dialerd-Signature` verifies against `--secret`;
//!     answers 200. Latency = arrival − `at` (same machine, same clock).
//!   - `GET|POST /pop`: a screen pop (the CRM side, seed 004): the query
//!     string (GET) or the form body (POST), form-urlencoded and decoded
//!     here. Records the arrival (taken first thing in the handler),
//!     `ivrid` (the call id), `extenUser` and the status (`statusCall`, or
//!     `status` as in the seed's POST example); answers `{"STATUS":"OK"}`.
//!   - `GET /stats`: `{"hooks":N,"pops":N}` so the script can tell when the
//!     expected requests have arrived.
//!
//!   On SIGTERM/SIGINT (or `--max-s`) it writes a summary JSON to `--out`:
//!   per event type count, duplicates (same `id` again: delivery is at least
//!   once), bad signatures, p50/p90/p99/max latency in ms, and the overall
//!   p99 per `--window-s` window of `at` (does a backlog build up?).
//!   Screen pops are joined by `ivrid` to the same call's `call.dialing`
//!   webhook: latency = pop arrival − that event's `at` (dialerd stamps it
//!   right after handing the INVITE to its SIP stack; the pop is sent in
//!   parallel, from the API handler, so the difference can be negative). With
//!   `--sent FILE` (`cps_load --sent-log`: call id and wall clock just before
//!   its `POST /v1/calls` was written) also pop arrival − that send time.
//!   `--pop-samples TSV` writes every pop with both figures.
//!
//! `hook_receiver report --summary FILE --calls N [--target-ms 20] [--pop-target-ms 10] [--pops]`
//!   prints the table `bench/events` shows, with received vs expected (N per
//!   type; with `--pops`, N screen pops too).
//!
//! Built as `cargo build --release --example hook_receiver`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use clap::{Parser, Subcommand};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "hook_receiver", about = "Loopback receiver timing dialerd's webhooks (bench/events)")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Receive until SIGTERM/SIGINT, then write the summary JSON.
    Serve {
        /// Address to listen on (127.0.0.1:PORT).
        #[arg(long)]
        listen: SocketAddr,
        /// Where the summary JSON goes.
        #[arg(long)]
        out: String,
        /// The webhook's secret, to verify `Dialerd-Signature` (not checked when absent).
        #[arg(long)]
        secret: Option<String>,
        /// Also write every webhook as a TSV row (type, id, call_id, at,
        /// arrived, latency_ms) here.
        #[arg(long)]
        samples: Option<String>,
        /// Every screen pop as a TSV row (ivrid, status, extenUser, arrived,
        /// dialing_at, vs_dialing_ms, sent_at, vs_post_ms) here.
        #[arg(long)]
        pop_samples: Option<String>,
        /// `cps_load --sent-log` output (`call_id<TAB>unix ns`), read when
        /// the receiver stops: pops are also timed from the POST's send.
        #[arg(long)]
        sent: Option<String>,
        /// Width of the windows (by event `at`) for the p99-over-time line.
        #[arg(long, default_value_t = 2.0)]
        window_s: f64,
        /// Stop on its own after this many seconds.
        #[arg(long, default_value_t = 3600.0)]
        max_s: f64,
    },
    /// Print the table from a summary JSON.
    Report {
        #[arg(long)]
        summary: String,
        /// Calls created (201): each should yield one event of every type.
        #[arg(long)]
        calls: u64,
        /// The webhook p99 target, in ms.
        #[arg(long, default_value_t = 20.0)]
        target_ms: f64,
        /// The screen-pop p99 target, in ms.
        #[arg(long, default_value_t = 10.0)]
        pop_target_ms: f64,
        /// Every call was placed with an agent: expect one pop per call.
        #[arg(long)]
        pops: bool,
    },
}

/// Where a timed request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Webhook,
    ScreenPop,
}

#[derive(Debug)]
struct Sample {
    source: Source,
    kind: String,
    id: String,
    call_id: Option<String>,
    /// The event's `at` (webhooks); none for pops (joined at the end).
    at: Option<Timestamp>,
    arrived: Timestamp,
    sig_ok: Option<bool>,
    /// Pops: `extenUser`.
    exten: Option<String>,
}

struct Rx {
    samples: Mutex<Vec<Sample>>,
    secret: Option<Vec<u8>>,
    bad_bodies: Mutex<u64>,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    at: Timestamp,
    #[serde(default)]
    call_id: Option<String>,
}

fn main() {
    let args = Args::parse();
    let code = match args.cmd {
        Cmd::Serve { listen, out, secret, samples, pop_samples, sent, window_s, max_s } => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
            rt.block_on(serve(listen, out, secret, Files { samples, pop_samples, sent }, window_s, max_s))
        }
        Cmd::Report { summary, calls, target_ms, pop_target_ms, pops } => {
            report(&summary, calls, target_ms, pops.then_some(pop_target_ms))
        }
    };
    std::process::exit(code);
}

/// Optional files of `serve`.
struct Files {
    samples: Option<String>,
    pop_samples: Option<String>,
    sent: Option<String>,
}

async fn serve(
    listen: SocketAddr,
    out: String,
    secret: Option<String>,
    files: Files,
    window_s: f64,
    max_s: f64,
) -> i32 {
    let rx = Arc::new(Rx {
        samples: Mutex::new(Vec::with_capacity(100_000)),
        secret: secret.map(String::into_bytes),
        bad_bodies: Mutex::new(0),
    });
    let app = Router::new()
        .route("/hook", post(hook))
        .route("/pop", get(pop_get).post(pop_post))
        .route("/stats", get(stats))
        .with_state(rx.clone());
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hook_receiver: cannot listen on {listen}: {e}");
            return 2;
        }
    };
    eprintln!("hook_receiver: listening on {listen}");
    let stop = async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(Duration::from_secs_f64(max_s)) => {}
        }
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        eprintln!("hook_receiver: server error: {e}");
    }
    if let Some(path) = files.samples
        && let Err(e) = write_samples(&rx, &path)
    {
        eprintln!("hook_receiver: cannot write {path}: {e}");
    }
    let sent = match files.sent.as_deref().map(read_sent) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            eprintln!("hook_receiver: cannot read the send log: {e}");
            None
        }
    };
    let pops = join_pops(&rx, sent.as_ref());
    if let Some(path) = files.pop_samples
        && let Err(e) = write_pop_samples(&pops, &path)
    {
        eprintln!("hook_receiver: cannot write {path}: {e}");
    }
    let mut summary = summarise(&rx, window_s);
    summary["screen_pop"] = summarise_pops(&pops, sent.as_ref().map(HashMap::len));
    if let Err(e) = std::fs::write(&out, format!("{summary:#}\n")) {
        eprintln!("hook_receiver: cannot write {out}: {e}");
        return 1;
    }
    0
}

async fn hook(State(rx): State<Arc<Rx>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let arrived = Timestamp::now();
    let Ok(e) = serde_json::from_slice::<Event>(&body) else {
        *rx.bad_bodies.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        return StatusCode::OK;
    };
    let sig_ok = rx
        .secret
        .as_ref()
        .map(|s| headers.get("dialerd-signature").and_then(|v| v.to_str().ok()).is_some_and(|h| verify(s, h, &body)));
    rx.samples.lock().unwrap_or_else(|e| e.into_inner()).push(Sample {
        source: Source::Webhook,
        kind: e.kind,
        id: e.id,
        call_id: e.call_id,
        at: Some(e.at),
        arrived,
        sig_ok,
        exten: None,
    });
    StatusCode::OK
}

/// Screen pop as a GET with a query string.
async fn pop_get(State(rx): State<Arc<Rx>>, RawQuery(q): RawQuery) -> axum::Json<Value> {
    let arrived = Timestamp::now();
    record_pop(&rx, arrived, q.as_deref().unwrap_or(""));
    axum::Json(json!({"STATUS": "OK"}))
}

/// Screen pop as a form POST.
async fn pop_post(State(rx): State<Arc<Rx>>, body: Bytes) -> axum::Json<Value> {
    let arrived = Timestamp::now();
    record_pop(&rx, arrived, &String::from_utf8_lossy(&body));
    axum::Json(json!({"STATUS": "OK"}))
}

fn record_pop(rx: &Rx, arrived: Timestamp, form: &str) {
    let pairs = decode_form(form);
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let sample = Sample {
        source: Source::ScreenPop,
        kind: field("statusCall").or_else(|| field("status")).unwrap_or_default(),
        id: String::new(),
        call_id: field("ivrid"),
        at: None,
        arrived,
        sig_ok: None,
        exten: field("extenUser"),
    };
    rx.samples.lock().unwrap_or_else(|e| e.into_inner()).push(sample);
}

/// `application/x-www-form-urlencoded` (the WHATWG rules dialerd encodes
/// with): `&`-separated `name=value`, `+` is a space, `%XX` a byte; bytes
/// that are not UTF-8 are replaced.
fn decode_form(s: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn stats(State(rx): State<Arc<Rx>>) -> axum::Json<Value> {
    let s = rx.samples.lock().unwrap_or_else(|e| e.into_inner());
    let hooks = s.iter().filter(|x| x.source == Source::Webhook).count();
    axum::Json(json!({"hooks": hooks, "pops": s.len() - hooks}))
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (docs/events.md).
fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_string()),
            Some(("v1", v)) => v1.push(v.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    m.update(t.as_bytes());
    m.update(b".");
    m.update(body);
    let want: String = m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    v1.iter().any(|h| h.eq_ignore_ascii_case(&want))
}

fn write_samples(rx: &Rx, path: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "type\tid\tcall_id\tat\tarrived\tlatency_ms")?;
    for s in rx.samples.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let Some(at) = s.at else { continue };
        let ms = s.arrived.duration_since(at).as_secs_f64() * 1000.0;
        let call = s.call_id.as_deref().unwrap_or("");
        writeln!(f, "{}\t{}\t{call}\t{at}\t{}\t{ms:.3}", s.kind, s.id, s.arrived)?;
    }
    f.flush()
}

/// Nearest-rank percentile of sorted values (as bench/load.rs).
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn dist(mut v: Vec<f64>) -> Value {
    v.sort_by(f64::total_cmp);
    json!({
        "n": v.len(),
        "p50_ms": round3(pct(&v, 0.50)),
        "p90_ms": round3(pct(&v, 0.90)),
        "p99_ms": round3(pct(&v, 0.99)),
        "max_ms": round3(pct(&v, 1.0)),
        "min_ms": round3(v.first().copied().unwrap_or(0.0)),
        "over_10ms": v.iter().filter(|&&x| x > 10.0).count(),
        "over_20ms": v.iter().filter(|&&x| x > 20.0).count(),
    })
}

/// Types whose `at` is a SIP message processed by the call actor: the
/// "overall" figure. `call.dialing` is the INVITE leaving (an API request,
/// not a SIP message) and is shown on its own.
const FROM_SIP: &[&str] = &["call.ringing", "call.answered", "call.ended"];

fn summarise(rx: &Rx, window_s: f64) -> Value {
    let samples = rx.samples.lock().unwrap_or_else(|e| e.into_inner());
    let mut seen = HashSet::new();
    let mut dups: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut overall = Vec::new();
    let mut bad_sig = 0u64;
    let mut calls = HashSet::new();
    let first_at = samples.iter().filter_map(|s| s.at).min();
    let mut windows: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.source == Source::Webhook) {
        if s.sig_ok == Some(false) {
            bad_sig += 1;
        }
        // At least once: a repeat of an id is counted, not timed.
        if !seen.insert(s.id.as_str()) {
            *dups.entry(s.kind.as_str()).or_default() += 1;
            continue;
        }
        if let Some(c) = &s.call_id {
            calls.insert(c.as_str());
        }
        let Some(at) = s.at else { continue };
        let ms = s.arrived.duration_since(at).as_secs_f64() * 1000.0;
        by_type.entry(s.kind.as_str()).or_default().push(ms);
        if FROM_SIP.contains(&s.kind.as_str()) {
            overall.push(ms);
            if let Some(f) = first_at {
                let w = (at.duration_since(f).as_secs_f64() / window_s).floor().max(0.0) as u64;
                windows.entry(w).or_default().push(ms);
            }
        }
    }
    let types: serde_json::Map<String, Value> = by_type
        .into_iter()
        .map(|(k, v)| {
            let mut d = dist(v);
            d["duplicates"] = json!(dups.get(k).copied().unwrap_or(0));
            (k.to_string(), d)
        })
        .collect();
    let windows: Vec<Value> = windows
        .into_iter()
        .map(|(w, mut v)| {
            v.sort_by(f64::total_cmp);
            json!({"from_s": w as f64 * window_s, "n": v.len(), "p50_ms": round3(pct(&v, 0.5)),
                   "p99_ms": round3(pct(&v, 0.99)), "max_ms": round3(pct(&v, 1.0))})
        })
        .collect();
    let pops: Vec<&Sample> = samples.iter().filter(|s| s.source == Source::ScreenPop).collect();
    let first_arrival = samples.iter().map(|s| s.arrived).min();
    let last_arrival = samples.iter().map(|s| s.arrived).max();
    let span = match (first_arrival, last_arrival) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    json!({
        "webhook": {
            "requests": samples.len() - pops.len(),
            "unique": seen.len(),
            "duplicates": dups.values().sum::<u64>(),
            "bad_signatures": bad_sig,
            "signatures_checked": rx.secret.is_some(),
            "unparsable_bodies": *rx.bad_bodies.lock().unwrap_or_else(|e| e.into_inner()),
            "calls_seen": calls.len(),
            "types": types,
            "overall_from_sip": dist(overall),
            "window_s": window_s,
            "windows": windows,
            "arrival_span_s": round3(span),
        },
    })
}

/// One screen pop, joined to its call.
struct Pop {
    ivrid: String,
    status: String,
    exten: String,
    arrived: Timestamp,
    /// The call's `call.dialing` `at` (first one, from the webhook).
    dialing_at: Option<Timestamp>,
    /// When cps_load wrote the call's `POST /v1/calls` (`--sent`).
    sent_at: Option<Timestamp>,
    /// Not the first pop for this `ivrid`.
    repeat: bool,
}

fn ms_between(later: Timestamp, earlier: Timestamp) -> f64 {
    later.duration_since(earlier).as_secs_f64() * 1000.0
}

/// `call_id<TAB>unix nanoseconds` per line (cps_load --sent-log).
fn read_sent(path: &str) -> Result<HashMap<String, Timestamp>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(id, ns)| {
            let t = Timestamp::from_nanosecond(ns.trim().parse::<i128>().ok()?).ok()?;
            Some((id.to_string(), t))
        });
        let Some((id, t)) = parsed else { return Err(format!("{path}:{}: bad line {line:?}", i + 1)) };
        m.insert(id, t);
    }
    Ok(m)
}

fn join_pops(rx: &Rx, sent: Option<&HashMap<String, Timestamp>>) -> Vec<Pop> {
    let samples = rx.samples.lock().unwrap_or_else(|e| e.into_inner());
    let mut dialing: HashMap<&str, Timestamp> = HashMap::new();
    for s in samples.iter().filter(|s| s.source == Source::Webhook && s.kind == "call.dialing") {
        if let (Some(c), Some(at)) = (&s.call_id, s.at) {
            let e = dialing.entry(c.as_str()).or_insert(at);
            *e = (*e).min(at);
        }
    }
    let mut seen = HashSet::new();
    let mut pops: Vec<Pop> = samples
        .iter()
        .filter(|s| s.source == Source::ScreenPop)
        .map(|s| {
            let ivrid = s.call_id.clone().unwrap_or_default();
            Pop {
                dialing_at: dialing.get(ivrid.as_str()).copied(),
                sent_at: sent.and_then(|m| m.get(&ivrid).copied()),
                repeat: !ivrid.is_empty() && !seen.insert(ivrid.clone()),
                status: s.kind.clone(),
                exten: s.exten.clone().unwrap_or_default(),
                arrived: s.arrived,
                ivrid,
            }
        })
        .collect();
    pops.sort_by_key(|p| p.arrived);
    pops
}

fn write_pop_samples(pops: &[Pop], path: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "ivrid\tstatus\textenUser\tarrived\tdialing_at\tvs_dialing_ms\tsent_at\tvs_post_ms\trepeat")?;
    let opt = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    let ms = |t: Option<Timestamp>, arrived| t.map(|t| format!("{:.3}", ms_between(arrived, t))).unwrap_or_default();
    for p in pops {
        writeln!(
            f,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            p.ivrid,
            p.status,
            p.exten,
            p.arrived,
            opt(p.dialing_at),
            ms(p.dialing_at, p.arrived),
            opt(p.sent_at),
            ms(p.sent_at, p.arrived),
            u8::from(p.repeat)
        )?;
    }
    f.flush()
}

/// A signed latency distribution: `dist` plus how many are negative and the
/// p99 of the absolute values.
fn signed_dist(v: Vec<f64>) -> Value {
    let negative = v.iter().filter(|&&x| x < 0.0).count();
    let mut abs: Vec<f64> = v.iter().map(|x| x.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let mut d = dist(v);
    d["negative"] = json!(negative);
    d["abs_p99_ms"] = json!(round3(pct(&abs, 0.99)));
    d["abs_max_ms"] = json!(round3(pct(&abs, 1.0)));
    d
}

fn summarise_pops(pops: &[Pop], sent_calls: Option<usize>) -> Value {
    let first = pops.iter().filter(|p| !p.repeat).map(|p| p.arrived).min();
    let count = |f: &dyn Fn(&Pop) -> &str| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for p in pops {
            *m.entry(f(p).to_string()).or_default() += 1;
        }
        m
    };
    let statuses = count(&|p| p.status.as_str());
    let extens = count(&|p| p.exten.as_str());
    let timed: Vec<&Pop> = pops.iter().filter(|p| !p.repeat && !p.ivrid.is_empty()).collect();
    let vs_dialing: Vec<f64> = timed.iter().filter_map(|p| Some(ms_between(p.arrived, p.dialing_at?))).collect();
    let vs_post: Vec<f64> = timed.iter().filter_map(|p| Some(ms_between(p.arrived, p.sent_at?))).collect();
    // p99 (signed, vs call.dialing) per 2 s of pop arrivals.
    let mut windows: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    if let Some(f) = first {
        for p in &timed {
            if let Some(at) = p.dialing_at {
                let w = (p.arrived.duration_since(f).as_secs_f64() / 2.0).floor().max(0.0) as u64;
                windows.entry(w).or_default().push(ms_between(p.arrived, at));
            }
        }
    }
    let windows: Vec<Value> = windows
        .into_iter()
        .map(|(w, mut v)| {
            v.sort_by(f64::total_cmp);
            json!({"from_s": w as f64 * 2.0, "n": v.len(), "p99_ms": round3(pct(&v, 0.99)), "max_ms": round3(pct(&v, 1.0))})
        })
        .collect();
    json!({
        "requests": pops.len(),
        "calls": timed.len(),
        "repeats": pops.iter().filter(|p| p.repeat).count(),
        "without_ivrid": pops.iter().filter(|p| p.ivrid.is_empty()).count(),
        "statuses": statuses,
        "exten_users": extens,
        "without_dialing_event": timed.iter().filter(|p| p.dialing_at.is_none()).count(),
        "vs_dialing": signed_dist(vs_dialing),
        "sent_log_calls": sent_calls,
        "without_sent_time": if sent_calls.is_some() { json!(timed.iter().filter(|p| p.sent_at.is_none()).count()) } else { Value::Null },
        "vs_post": if sent_calls.is_some() { signed_dist(vs_post) } else { Value::Null },
        "windows_s": 2.0,
        "windows": windows,
    })
}

fn report(path: &str, calls: u64, target_ms: f64, pop_target_ms: Option<f64>) -> i32 {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("hook_receiver: cannot read {path}: {e}");
            return 2;
        }
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("hook_receiver: {path}: {e}");
            return 2;
        }
    };
    let w = &v["webhook"];
    let f = |d: &Value, k: &str| d[k].as_f64().unwrap_or(0.0);
    let n = |d: &Value, k: &str| d[k].as_u64().unwrap_or(0);
    println!(
        "{:<16} {:>9} {:>9} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "status webhook", "received", "expected", "dup", "p50 ms", "p90 ms", "p99 ms", "max ms", ">20ms"
    );
    let row = |name: &str, d: &Value, expected: u64| {
        println!(
            "{:<16} {:>9} {:>9} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            name,
            n(d, "n"),
            expected,
            n(d, "duplicates"),
            f(d, "p50_ms"),
            f(d, "p90_ms"),
            f(d, "p99_ms"),
            f(d, "max_ms"),
            n(d, "over_20ms")
        );
    };
    let empty = json!({});
    for t in ["call.dialing", "call.ringing", "call.answered", "call.ended"] {
        row(t, w["types"].get(t).unwrap_or(&empty), calls);
    }
    if let Some(types) = w["types"].as_object() {
        for (t, d) in types {
            if !["call.dialing", "call.ringing", "call.answered", "call.ended"].contains(&t.as_str()) {
                row(t, d, 0);
            }
        }
    }
    let overall = &w["overall_from_sip"];
    row("overall (SIP)", overall, calls * FROM_SIP.len() as u64);
    let p99 = f(overall, "p99_ms");
    println!();
    println!(
        "webhooks: overall p99 {p99:.2} ms (ringing+answered+ended) against a target of <= {target_ms} ms: {}",
        if n(overall, "n") == 0 {
            "n/a"
        } else if p99 <= target_ms {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "webhooks: {} requests, {} unique events, {} duplicates, {} calls seen of {calls}, {} bad signatures{}, {} unparsable",
        n(w, "requests"),
        n(w, "unique"),
        n(w, "duplicates"),
        n(w, "calls_seen"),
        n(w, "bad_signatures"),
        if w["signatures_checked"].as_bool() == Some(true) { "" } else { " (not checked)" },
        n(w, "unparsable_bodies"),
    );
    if let Some(ws) = w["windows"].as_array() {
        let line: Vec<String> = ws.iter().map(|x| format!("{:.1}", f(x, "p99_ms"))).collect();
        println!("webhooks: overall p99 per {} s of the run (by `at`), ms: {}", f(w, "window_s"), line.join(" "));
    }
    println!();
    report_pops(&v["screen_pop"], calls, pop_target_ms);
    0
}

fn report_pops(p: &Value, calls: u64, target_ms: Option<f64>) {
    let f = |d: &Value, k: &str| d[k].as_f64().unwrap_or(0.0);
    let n = |d: &Value, k: &str| d[k].as_u64().unwrap_or(0);
    let requests = n(p, "requests");
    let Some(target_ms) = target_ms else {
        println!("screen pop: no agent on the calls ({requests} requests seen on /pop)");
        return;
    };
    println!(
        "{:<20} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}",
        "screen pop", "timed", "calls", "p50 ms", "p90 ms", "p99 ms", "max ms", "min ms", "|p99| ms", "<0", ">10ms"
    );
    let row = |name: &str, d: &Value| {
        if d.is_null() {
            return;
        }
        println!(
            "{:<20} {:>8} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>6} {:>6}",
            name,
            n(d, "n"),
            calls,
            f(d, "p50_ms"),
            f(d, "p90_ms"),
            f(d, "p99_ms"),
            f(d, "max_ms"),
            f(d, "min_ms"),
            f(d, "abs_p99_ms"),
            n(d, "negative"),
            n(d, "over_10ms"),
        );
    };
    let d = &p["vs_dialing"];
    row("- call.dialing `at`", d);
    row("- POST /v1/calls sent", &p["vs_post"]);
    println!();
    let verdict = |x: f64| if x <= target_ms { "met" } else { "NOT met" };
    if n(d, "n") == 0 {
        println!("screen pop: not joined to any call.dialing event (no webhook?)");
    } else {
        println!(
            "screen pop: p99 {:.2} ms (arrival - call.dialing `at`), |p99| {:.2} ms, against a target of <= {target_ms} ms: {} / {}",
            f(d, "p99_ms"),
            f(d, "abs_p99_ms"),
            verdict(f(d, "p99_ms")),
            verdict(f(d, "abs_p99_ms")),
        );
    }
    let counts = |k: &str| -> String {
        p[k].as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{}={}", if k.is_empty() { "(none)" } else { k }, v))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    println!(
        "screen pop: {requests} requests for {} calls of {calls}, {} repeats, {} without ivrid, {} without a call.dialing webhook{}; status {}; extenUser {}",
        n(p, "calls"),
        n(p, "repeats"),
        n(p, "without_ivrid"),
        n(p, "without_dialing_event"),
        if p["sent_log_calls"].is_null() {
            String::new()
        } else {
            format!(", {} without a send time", n(p, "without_sent_time"))
        },
        counts("statuses"),
        counts("exten_users"),
    );
    if let Some(ws) = p["windows"].as_array()
        && !ws.is_empty()
    {
        let line: Vec<String> = ws.iter().map(|x| format!("{:.1}", f(x, "p99_ms"))).collect();
        println!("screen pop: p99 (vs call.dialing) per 2 s of arrivals, ms: {}", line.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::decode_form;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn form_is_decoded() {
        assert_eq!(
            decode_form("phone=%2B972+50-123+4567&ivrid=a%26b%3Dc&extenUser=%D7%93%D7%A0%D7%94&did=x*y_z.%7E%2F"),
            pairs(&[("phone", "+972 50-123 4567"), ("ivrid", "a&b=c"), ("extenUser", "דנה"), ("did", "x*y_z.~/")])
        );
        assert_eq!(decode_form("a=1&&b&c=%4"), pairs(&[("a", "1"), ("b", ""), ("c", "%4")]));
        assert_eq!(decode_form("x=%zz%41%"), pairs(&[("x", "%zzA%")]));
        assert_eq!(decode_form(""), pairs(&[]));
    }
}
