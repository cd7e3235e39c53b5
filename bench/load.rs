//! `cps_load`: an open-loop HTTP load generator for `POST /v1/calls`.
//!
//! Request `i` is due at `start + i / rate` (absolute deadlines, so no drift).
//! Each keep-alive connection takes the next due request when it is free and
//! sends it at its deadline; when every connection is busy the backlog goes out
//! as soon as one frees, and the delay past the deadline is reported as
//! lateness. At the end one JSON line goes to stdout:
//!
//! `{"sent":N,"created":N,"refused_429":N,"other_errors":N,"late_ms_max":X,
//!   "elapsed_s":Y,"http_p50_ms":..,"http_p99_ms":..,...}`
//!
//! `--agent ID` adds `"agent": ID` to every body (an agent's outbound call:
//! dialerd sends that agent's screen pop). `--sent-log FILE` writes, per
//! call created, `call_id<TAB>unix ns` of the wall clock taken just before
//! the request was written to the socket (for `bench/events`).
//!
//! Built as `cargo build --release --example cps_load`; driven by `bench/cps`
//! and `bench/events`.

use clap::Parser;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};

#[derive(Parser, Debug)]
#[command(name = "cps_load", about = "Open-loop load generator for dialerd's POST /v1/calls")]
struct Args {
    /// Base URL of the dialerd HTTP API, e.g. http://127.0.0.1:8080 (plain HTTP only).
    #[arg(long)]
    url: String,
    /// Bearer key ([api] keys).
    #[arg(long)]
    key: String,
    /// Trunk name to dial through.
    #[arg(long)]
    trunk: String,
    /// Offered calls per second.
    #[arg(long)]
    rate: f64,
    /// Seconds of load.
    #[arg(long)]
    duration: f64,
    /// Keep-alive HTTP/1.1 connections used in parallel.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// The "to" number of every call.
    #[arg(long, default_value = "+15551234")]
    to: String,
    /// Per-request timeout in seconds (connect + write + response).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Place every call for this agent (`"agent"` in the body); none by default.
    #[arg(long)]
    agent: Option<String>,
    /// Write `call_id<TAB>unix ns` (send time of its POST) per created call here.
    #[arg(long)]
    sent_log: Option<String>,
}

/// What one connection worker saw.
#[derive(Default)]
struct Tally {
    sent: u64,
    created: u64,
    refused_429: u64,
    other_errors: u64,
    /// Requests that got no HTTP response (connect/IO error, timeout).
    io_errors: u64,
    late_max: Duration,
    late_over_10ms: u64,
    /// Response latency of every request that got a response, in µs.
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    last_done: Option<Instant>,
    first_error: Option<String>,
    /// With `--sent-log`: (call id, unix ns just before the write) per 201.
    sent_times: Vec<(String, i128)>,
}

struct Shared {
    addr: SocketAddr,
    request: Vec<u8>,
    start: Instant,
    /// Nanoseconds between deadlines.
    interval_ns: f64,
    total: u64,
    next: AtomicU64,
    timeout: Duration,
    log_sent: bool,
}

impl Shared {
    fn deadline(&self, i: u64) -> Instant {
        self.start + Duration::from_nanos((i as f64 * self.interval_ns).round() as u64)
    }
}

fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    let hostport = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    Ok((authority.to_string(), hostport))
}

fn main() {
    let args = Args::parse();
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !positive(args.rate) || !positive(args.duration) || args.connections == 0 {
        eprintln!("cps_load: --rate and --duration must be positive, --connections at least 1");
        std::process::exit(2);
    }
    let (host, hostport) = match parse_url(&args.url) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cps_load: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = rt.block_on(run(args, host, hostport));
    std::process::exit(code);
}

async fn run(args: Args, host: String, hostport: String) -> i32 {
    let addr = match tokio::net::lookup_host(&hostport).await.ok().and_then(|mut a| a.next()) {
        Some(a) => a,
        None => {
            eprintln!("cps_load: cannot resolve {hostport}");
            return 2;
        }
    };
    let mut body = serde_json::json!({"to": args.to, "trunk": args.trunk});
    if let Some(agent) = &args.agent {
        body["agent"] = agent.as_str().into();
    }
    let body = body.to_string();
    let request = format!(
        "POST /v1/calls HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        args.key,
        body.len()
    )
    .into_bytes();
    let total = (args.rate * args.duration).round() as u64;

    // Open the connections before the clock starts so set-up is not counted
    // as lateness; a connection that fails here is retried per request.
    let mut conns = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        conns.push(connect(addr).await.ok());
    }

    let shared = Arc::new(Shared {
        addr,
        request,
        // A short lead so every worker is parked on its first deadline.
        start: Instant::now() + Duration::from_millis(20),
        interval_ns: 1e9 / args.rate,
        total,
        next: AtomicU64::new(0),
        timeout: Duration::from_secs_f64(args.timeout),
        log_sent: args.sent_log.is_some(),
    });
    let mut handles = Vec::new();
    for conn in conns {
        let shared = shared.clone();
        handles.push(tokio::spawn(worker(shared, conn)));
    }
    let mut all = Tally::default();
    for h in handles {
        let t = match h.await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("cps_load: worker panicked: {e}");
                return 1;
            }
        };
        all.sent += t.sent;
        all.created += t.created;
        all.refused_429 += t.refused_429;
        all.other_errors += t.other_errors;
        all.io_errors += t.io_errors;
        all.late_max = all.late_max.max(t.late_max);
        all.late_over_10ms += t.late_over_10ms;
        all.latencies_us.extend_from_slice(&t.latencies_us);
        for (k, v) in t.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        all.last_done = all.last_done.max(t.last_done);
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
        all.sent_times.extend(t.sent_times);
    }
    if let Some(path) = &args.sent_log {
        use std::io::Write;
        let written = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            for (id, ns) in &all.sent_times {
                writeln!(w, "{id}\t{ns}")?;
            }
            w.flush()
        });
        if let Err(e) = written {
            eprintln!("cps_load: cannot write {path}: {e}");
            return 1;
        }
    }
    let end = all.last_done.unwrap_or_else(Instant::now).max(shared.start);
    let elapsed = end.duration_since(shared.start).as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((p * all.latencies_us.len() as f64).ceil() as usize).clamp(1, all.latencies_us.len()) - 1;
        all.latencies_us[idx] as f64 / 1000.0
    };
    let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let statuses: serde_json::Map<String, serde_json::Value> =
        all.statuses.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
    if let Some(e) = &all.first_error {
        eprintln!("cps_load: first error: {e}");
    }
    let out = serde_json::json!({
        "sent": all.sent,
        "created": all.created,
        "refused_429": all.refused_429,
        "other_errors": all.other_errors,
        "late_ms_max": round3(all.late_max.as_secs_f64() * 1000.0),
        "elapsed_s": round3(elapsed),
        "http_p50_ms": round3(pct(0.50)),
        "http_p99_ms": round3(pct(0.99)),
        "http_max_ms": round3(pct(1.0)),
        "offered_rate": args.rate,
        "planned": total,
        "late_over_10ms": all.late_over_10ms,
        "io_errors": all.io_errors,
        "statuses": statuses,
    });
    println!("{out}");
    0
}

async fn connect(addr: SocketAddr) -> io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(BufReader::with_capacity(16 * 1024, s))
}

async fn worker(shared: Arc<Shared>, mut conn: Option<BufReader<TcpStream>>) -> Tally {
    let mut t = Tally::default();
    let mut body = Vec::with_capacity(512);
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.total {
            break;
        }
        let due = shared.deadline(i);
        sleep_until(due).await;
        let began = Instant::now();
        let late = began.saturating_duration_since(due);
        t.late_max = t.late_max.max(late);
        if late > Duration::from_millis(10) {
            t.late_over_10ms += 1;
        }
        t.sent += 1;
        let mut sent_at = None;
        let result = timeout(shared.timeout, exchange(&shared, &mut conn, &mut body, &mut sent_at)).await;
        let done = Instant::now();
        t.last_done = Some(done);
        match result {
            Ok(Ok((status, keep_alive))) => {
                let us = done.duration_since(began).as_micros().min(u32::MAX as u128) as u32;
                t.latencies_us.push(us);
                *t.statuses.entry(status).or_default() += 1;
                match status {
                    201 => {
                        t.created += 1;
                        if let Some(ns) = sent_at
                            && let Some(id) = serde_json::from_slice::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v["id"].as_str().map(str::to_string))
                        {
                            t.sent_times.push((id, ns));
                        }
                    }
                    429 => t.refused_429 += 1,
                    _ => {
                        t.other_errors += 1;
                        if t.first_error.is_none() {
                            t.first_error = Some(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
                        }
                    }
                }
                if !keep_alive {
                    conn = None;
                }
            }
            Ok(Err(e)) => {
                t.other_errors += 1;
                t.io_errors += 1;
                if t.first_error.is_none() {
                    t.first_error = Some(format!("I/O: {e}"));
                }
                conn = None;
            }
            Err(_) => {
                t.other_errors += 1;
                t.io_errors += 1;
                if t.first_error.is_none() {
                    t.first_error = Some(format!("no response within {:?}", shared.timeout));
                }
                conn = None;
            }
        }
    }
    t
}

/// Sends one request on `conn` (connecting first if needed) and reads the
/// response. Returns the status and whether the connection may be reused.
async fn exchange(
    shared: &Shared,
    conn: &mut Option<BufReader<TcpStream>>,
    body: &mut Vec<u8>,
    sent_at: &mut Option<i128>,
) -> io::Result<(u16, bool)> {
    if conn.is_none() {
        *conn = Some(connect(shared.addr).await?);
    }
    let c = conn.as_mut().expect("connected");
    if shared.log_sent {
        *sent_at = Some(jiff::Timestamp::now().as_nanosecond());
    }
    c.get_mut().write_all(&shared.request).await?;
    read_response(c, body).await
}

async fn read_response(c: &mut BufReader<TcpStream>, body: &mut Vec<u8>) -> io::Result<(u16, bool)> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::with_capacity(128);
    if c.read_line(&mut line).await? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"));
    }
    // "HTTP/1.1 201 Created"
    let mut parts = line.split_ascii_whitespace();
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(bad(&format!("bad status line {line:?}")));
    }
    let status: u16 =
        parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad(&format!("bad status line {line:?}")))?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    loop {
        line.clear();
        if c.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in the headers"));
        }
        let h = line.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let Some((name, value)) = h.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().map_err(|_| bad("bad Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    body.clear();
    if chunked {
        loop {
            line.clear();
            c.read_line(&mut line).await?;
            let size_hex = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if c.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            c.read_exact(&mut body[start..]).await?;
            let mut crlf = [0u8; 2];
            c.read_exact(&mut crlf).await?;
        }
    } else if let Some(n) = content_length {
        body.resize(n, 0);
        c.read_exact(body).await?;
    } else if status >= 200 && status != 204 && status != 304 {
        // No length: the body runs to the end of the connection.
        c.read_to_end(body).await?;
        keep_alive = false;
    }
    Ok((status, keep_alive))
}
