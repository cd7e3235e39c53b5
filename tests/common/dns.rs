//! A tiny DNS responder on 127.0.0.1 for tests (`[sip] dns_servers`): it
//! answers SRV and A questions from a table the test sets and may change
//! while it runs, NOERROR with no records for other names and types, and
//! remembers every question. Hand-written (RFC 1035 §4.1, RFC 2782 RDATA)
//! so the tests need no DNS server crate; loopback only.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Rr {
    Srv { priority: u16, weight: u16, port: u16, target: String },
    A(Ipv4Addr),
}

impl Rr {
    fn qtype(&self) -> u16 {
        match self {
            Rr::Srv { .. } => 33,
            Rr::A(_) => 1,
        }
    }

    fn rdata(&self) -> Vec<u8> {
        match self {
            Rr::A(ip) => ip.octets().to_vec(),
            Rr::Srv { priority, weight, port, target } => {
                let mut d = [priority.to_be_bytes(), weight.to_be_bytes(), port.to_be_bytes()].concat();
                for label in target.trim_end_matches('.').split('.') {
                    d.push(label.len() as u8);
                    d.extend_from_slice(label.as_bytes());
                }
                d.push(0);
                d
            }
        }
    }
}

type Table = HashMap<String, Vec<Rr>>;

pub struct DnsServer {
    pub addr: SocketAddr,
    table: Arc<Mutex<Table>>,
    questions: Arc<Mutex<Vec<String>>>,
    /// The TTL of every answer record (30 s unless set).
    ttl: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    pub fn start() -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = socket.local_addr().unwrap();
        let table: Arc<Mutex<Table>> = Default::default();
        let questions: Arc<Mutex<Vec<String>>> = Default::default();
        let stop = Arc::new(AtomicBool::new(false));
        let ttl = Arc::new(AtomicU32::new(30));
        let (t, q, s, l) = (table.clone(), questions.clone(), stop.clone(), ttl.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                if let Some((reply, asked)) = answer(&buf[..n], &t.lock().unwrap(), l.load(Ordering::Relaxed)) {
                    q.lock().unwrap().push(asked);
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        DnsServer { addr, table, questions, ttl, stop }
    }

    /// Replaces the records of `name` (no trailing dot) of the given kinds.
    pub fn set(&self, name: &str, records: Vec<Rr>) {
        self.table.lock().unwrap().insert(name.to_ascii_lowercase(), records);
    }

    /// The TTL answers carry from now on.
    pub fn set_ttl(&self, seconds: u32) {
        self.ttl.store(seconds, Ordering::Relaxed);
    }

    /// Every question so far, as `"SRV _sip._udp.example"` / `"A host"`.
    pub fn questions(&self) -> Vec<String> {
        self.questions.lock().unwrap().clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The reply to one query and the question as text; `None` for garbage.
fn answer(q: &[u8], table: &Table, ttl: u32) -> Option<(Vec<u8>, String)> {
    if q.len() < 12 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question = &q[12..i + 4];
    let name = labels.join(".");
    let records: Vec<&Rr> = table.get(&name).into_iter().flatten().filter(|r| r.qtype() == qtype).collect();
    // QR, AA, RD as asked, RA; NOERROR (empty answers for other types).
    let flags = 0x8480 | (u16::from_be_bytes([q[2], q[3]]) & 0x0100);
    let mut r = [&q[..2], &flags.to_be_bytes(), &1u16.to_be_bytes(), &(records.len() as u16).to_be_bytes()].concat();
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(question);
    for rec in records {
        let data = rec.rdata();
        r.extend_from_slice(&[0xc0, 12]);
        r.extend_from_slice(&qtype.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes());
        r.extend_from_slice(&ttl.to_be_bytes());
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
    }
    let kind = match qtype {
        1 => "A".to_string(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        t => format!("TYPE{t}"),
    };
    Some((r, format!("{kind} {name}")))
}
