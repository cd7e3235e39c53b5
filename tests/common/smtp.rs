//! A real SMTP server for end-to-end tests: Debian's aiosmtpd, run by the
//! system Python (`/usr/bin/python3`: a pyenv `python3` on PATH lacks the
//! Debian module). It accepts every message (and any AUTH login, even in
//! clear) on 127.0.0.1 and reports each one as a JSON line, decoded by
//! Python's `email` package so tests compare plain text, not MIME.
//! A missing Python or aiosmtpd fails the test: run `scripts/test`.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PYTHON: &str = "/usr/bin/python3";

// Binding port 0 in Python and printing the port leaves no window for
// another process to take it. The server exits when stdin closes, so a
// test process that dies without dropping the sink leaves no server behind.
const SCRIPT: &str = r#"
import asyncio, email, email.policy, json, os, sys, threading
from aiosmtpd.smtp import SMTP, AuthResult

def text_parts(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        # CRLF is the wire's line ending, not the sender's text.
        out.append(part.get_content().replace("\r\n", "\n"))
    return "\n".join(out)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        login = session.auth_data
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        line = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg.get("subject", "")),
            "body": text_parts(msg),
            "raw": raw.decode("utf-8", "replace"),
            "login": login,
        }
        print(json.dumps(line), flush=True)
        return "250 OK"

def accept_any(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True, auth_data=getattr(auth_data, "login", None))

def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)

async def main():
    loop = asyncio.get_running_loop()
    factory = lambda: SMTP(Handler(), hostname="sink.test", authenticator=accept_any,
                           auth_require_tls=False, decode_data=False)
    server = await loop.create_server(factory, "127.0.0.1", 0)
    print(json.dumps({"listening": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()

threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
asyncio.run(main())
"#;

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The envelope recipients (RCPT TO).
    pub to: Vec<String>,
    /// The Subject header, RFC 2047 words decoded.
    pub subject: String,
    /// Every text part (plain and HTML), transfer encoding and charset
    /// decoded, line ends as `\n`, parts joined by a newline.
    pub body: String,
    /// The message as sent, headers and MIME encoding included.
    pub raw: String,
    /// The AUTH user name, if the client logged in.
    pub login: Option<String>,
}

pub struct SmtpSink {
    pub port: u16,
    child: Child,
    // Held so the server lives; dropping it is the server's signal to exit.
    _stdin: ChildStdin,
    mails: Receiver<Mail>,
    stderr: Arc<Mutex<String>>,
}

impl SmtpSink {
    /// Starts the server and returns once it accepts connections.
    pub fn start() -> SmtpSink {
        assert!(
            std::path::Path::new(PYTHON).exists(),
            "{PYTHON} is missing: run scripts/test (it installs Debian's python3 and python3-aiosmtpd)"
        );
        let mut child = Command::new(PYTHON)
            .args(["-u", "-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}; run scripts/test"));
        let stdin = child.stdin.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let (port_tx, port_rx) = channel::<u16>();
        let (mail_tx, mails) = channel::<Mail>();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let v: Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("smtp sink: unreadable line {line:?}: {e}");
                        continue;
                    }
                };
                if let Some(p) = v["listening"].as_u64() {
                    let _ = port_tx.send(p as u16);
                    continue;
                }
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let mail = Mail {
                    from: s("mail_from"),
                    to: v["rcpt_tos"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str())
                        .map(String::from)
                        .collect(),
                    subject: s("subject"),
                    body: s("body"),
                    raw: s("raw"),
                    login: v["login"].as_str().map(String::from),
                };
                if mail_tx.send(mail).is_err() {
                    break;
                }
            }
        });

        let port = match port_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                // Lets the stderr reader take in the end of Python's message.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the SMTP sink did not start; run scripts/test (it installs python3-aiosmtpd). stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        SmtpSink { port, child, _stdin: stdin, mails, stderr }
    }

    /// The next message received (in arrival order), or a panic after `timeout`.
    pub fn wait_mail(&self, timeout: Duration) -> Mail {
        match self.mails.recv_timeout(timeout) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no mail reached the SMTP sink within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the SMTP sink exited; its stderr:\n{}", self.stderr.lock().unwrap())
            }
        }
    }

    /// A message already received, if any: for asserting that nothing was sent.
    pub fn try_mail(&self) -> Option<Mail> {
        self.mails.try_recv().ok()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
