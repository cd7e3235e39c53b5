//! Screen pop (seed 004): when a call rings at an agent's extension
//! (incoming, status `Ringing`) or an agent's outbound call dials
//! (`Dialing`), dialerd asks the agent's CRM who is calling. The request is
//! a GET with a query string or a POST `application/x-www-form-urlencoded`
//! carrying `phone`, `ivrid`, `extenUser`, `did` and the status (under a
//! configurable field name, `statusCall` by default). The CRM answers JSON
//! whose `STATUS` must be exactly `"OK"`; `URL`, `CLIENTNAME`, `TOTAL` and
//! `COMPANY` are optional. Anything else (another status, bad JSON, a
//! non-2xx answer, a timeout) is an error on the CRM's side: the caller
//! counts it by [`PopError::kind`] and logs it; the call goes on regardless.
//!
//! Building the request ([`build`]) and reading the reply ([`parse_reply`])
//! are plain functions over data; only [`send`] does I/O. A call ringing at
//! several extensions sends one request per extension, in parallel.

use serde_json::Value;
use std::time::Duration;

/// The content type of a POSTed pop.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Replies longer than this are not read to the end (a pop answer is a few
/// hundred bytes).
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// How the CRM wants the fields: a query string or a form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PopMethod {
    Get,
    Post,
}

/// One agent's CRM endpoint (`[agents.screen_pop]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopEndpoint {
    /// `http://` or `https://`; may already carry a query string.
    pub url: String,
    pub method: PopMethod,
    /// The name of the status field (`statusCall`; the seed's POST example
    /// uses `status`).
    pub status_field: String,
    /// Per request, from connecting until the reply's body is read.
    pub timeout: Duration,
}

/// The call's state when the pop is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopStatus {
    /// An incoming call rings at the agent's extension.
    Ringing,
    /// The agent's outbound call dials its destination.
    Dialing,
}

impl PopStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PopStatus::Ringing => "Ringing",
            PopStatus::Dialing => "Dialing",
        }
    }
}

/// What one pop tells the CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopFields {
    /// The customer's number.
    pub phone: String,
    /// dialerd's call id.
    pub ivrid: String,
    /// The agent's extension.
    pub exten_user: String,
    /// The number the customer dialled (incoming) or our caller id (outbound).
    pub did: String,
    pub status: PopStatus,
}

/// The request as data (sans-IO): method, full URL (GET: the endpoint's URL
/// plus `?` or `&` and the encoded fields, keeping an existing query), body
/// (POST: the encoded form; GET: none) and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopRequest {
    pub method: PopMethod,
    pub url: String,
    pub body: Option<String>,
    pub content_type: Option<&'static str>,
}

/// Builds the request for one extension. Fields go in the order `phone`,
/// `ivrid`, `extenUser`, `did`, then the status field.
pub fn build(endpoint: &PopEndpoint, f: &PopFields) -> PopRequest {
    let form = encode_form(&[
        ("phone", &f.phone),
        ("ivrid", &f.ivrid),
        ("extenUser", &f.exten_user),
        ("did", &f.did),
        (&endpoint.status_field, f.status.as_str()),
    ]);
    match endpoint.method {
        PopMethod::Get => {
            // A fragment is never sent; the query goes before it.
            let (base, fragment) = match endpoint.url.find('#') {
                Some(i) => endpoint.url.split_at(i),
                None => (endpoint.url.as_str(), ""),
            };
            let sep = match base.find('?') {
                None => "?",
                Some(i) if i + 1 == base.len() || base.ends_with('&') => "",
                Some(_) => "&",
            };
            PopRequest {
                method: PopMethod::Get,
                url: format!("{base}{sep}{form}{fragment}"),
                body: None,
                content_type: None,
            }
        }
        PopMethod::Post => PopRequest {
            method: PopMethod::Post,
            url: endpoint.url.clone(),
            body: Some(form),
            content_type: Some(FORM_CONTENT_TYPE),
        },
    }
}

/// `name=value&...` by the `application/x-www-form-urlencoded` rules (the
/// WHATWG URL standard): `A-Za-z0-9-._*` kept, space as `+`, every other
/// UTF-8 byte as `%XX`.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(name, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0x0f)] as char);
            }
        }
    }
}

/// The CRM's answer, as the API shows it on the call (`crm` in
/// `GET /v1/calls/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CrmInfo {
    /// Always `"OK"` (any other status is an error, not an answer).
    pub status: String,
    /// A link to the customer's card in the CRM.
    pub url: Option<String>,
    /// The customer's name as the CRM knows it.
    pub client_name: Option<String>,
    /// How many records the CRM found.
    pub total: Option<i64>,
    /// The customer's company.
    pub company: Option<String>,
    /// The extension this answer was for.
    pub extension: String,
}

/// Why a pop got no usable answer (all on the CRM's side or the way to it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopError {
    #[error("the CRM answered HTTP {0}")]
    Http(u16),
    #[error("the CRM's reply is not a JSON object: {0}")]
    BadJson(String),
    #[error("the CRM answered STATUS {0:?}, not \"OK\"")]
    NotOk(String),
    #[error("the CRM did not answer in time")]
    Timeout,
    #[error("the CRM could not be reached: {0}")]
    Transport(String),
}

impl PopError {
    /// The metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            PopError::Http(_) => "http_status",
            PopError::BadJson(_) => "bad_json",
            PopError::NotOk(_) => "not_ok",
            PopError::Timeout => "timeout",
            PopError::Transport(_) => "transport",
        }
    }
}

/// Parses a reply (HTTP status and body). A non-2xx status is
/// [`PopError::Http`]; a body that is not a JSON object is
/// [`PopError::BadJson`]; `STATUS` must be exactly `"OK"` (case-sensitive),
/// else [`PopError::NotOk`] with the value (`"missing"` when absent).
/// Optional fields of the wrong type, and empty strings, are ignored; `TOTAL`
/// may be a number or a numeric string.
pub fn parse_reply(http_status: u16, body: &[u8], extension: &str) -> Result<CrmInfo, PopError> {
    if !(200..300).contains(&http_status) {
        return Err(PopError::Http(http_status));
    }
    // Some servers (classic ASP among them) start UTF-8 with a BOM.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = serde_json::from_slice(body).map_err(|e| PopError::BadJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(PopError::BadJson(format!("expected an object, found {}", json_kind(&value))));
    };
    match map.get("STATUS") {
        Some(Value::String(s)) if s == "OK" => {}
        None | Some(Value::Null) => return Err(PopError::NotOk("missing".into())),
        Some(Value::String(s)) => return Err(PopError::NotOk(clip(s))),
        Some(other) => return Err(PopError::NotOk(clip(&other.to_string()))),
    }
    let text = |name: &str| match map.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    Ok(CrmInfo {
        status: "OK".into(),
        url: text("URL"),
        client_name: text("CLIENTNAME"),
        total: map.get("TOTAL").and_then(total),
        company: text("COMPANY"),
        extension: extension.to_string(),
    })
}

/// A record count: a whole number, as a JSON number or numeric text.
fn total(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }?;
    (n >= 0).then_some(n)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A CRM's status text is logged; keep it short.
fn clip(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Sends one pop with the given client and parses the reply. `timeout`
/// bounds the whole exchange, from connecting until the reply's body is
/// read. Transport errors never carry the URL (its query holds the
/// customer's number).
pub async fn send(
    http: &reqwest::Client,
    req: &PopRequest,
    timeout: Duration,
    extension: &str,
) -> Result<CrmInfo, PopError> {
    let mut builder = match req.method {
        PopMethod::Get => http.get(&req.url),
        PopMethod::Post => http.post(&req.url),
    }
    .timeout(timeout)
    .header(reqwest::header::ACCEPT, "application/json");
    if let Some(ct) = req.content_type {
        builder = builder.header(reqwest::header::CONTENT_TYPE, ct);
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let exchange = async {
        let mut resp = builder.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(PopError::Http(status));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(PopError::BadJson(format!("the reply is longer than {MAX_REPLY_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        parse_reply(status, &body, extension)
    };
    // reqwest enforces the timeout too; this also bounds anything it does
    // not cover.
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(PopError::Timeout),
    }
}

fn transport(e: reqwest::Error) -> PopError {
    if e.is_timeout() {
        return PopError::Timeout;
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    PopError::Transport(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn endpoint(url: &str, method: PopMethod) -> PopEndpoint {
        PopEndpoint { url: url.into(), method, status_field: "statusCall".into(), timeout: Duration::from_secs(2) }
    }

    fn fields() -> PopFields {
        PopFields {
            phone: "0722776772".into(),
            ivrid: "c-123".into(),
            exten_user: "201".into(),
            did: "0722776773".into(),
            status: PopStatus::Ringing,
        }
    }

    const FIELDS_QUERY: &str = "phone=0722776772&ivrid=c-123&extenUser=201&did=0722776773&statusCall=Ringing";

    #[test]
    fn get_without_query() {
        let r = build(&endpoint("https://crm.example.com/pop", PopMethod::Get), &fields());
        assert_eq!(r.method, PopMethod::Get);
        assert_eq!(r.url, format!("https://crm.example.com/pop?{FIELDS_QUERY}"));
        assert_eq!(r.body, None);
        assert_eq!(r.content_type, None);
    }

    #[test]
    fn get_keeps_an_existing_query() {
        let r = build(&endpoint("https://crm.example.com/pop.asp?key=abc", PopMethod::Get), &fields());
        assert_eq!(r.url, format!("https://crm.example.com/pop.asp?key=abc&{FIELDS_QUERY}"));
        let r = build(&endpoint("https://crm.example.com/pop?", PopMethod::Get), &fields());
        assert_eq!(r.url, format!("https://crm.example.com/pop?{FIELDS_QUERY}"));
        let r = build(&endpoint("https://crm.example.com/pop?a=1&", PopMethod::Get), &fields());
        assert_eq!(r.url, format!("https://crm.example.com/pop?a=1&{FIELDS_QUERY}"));
    }

    #[test]
    fn get_puts_the_query_before_a_fragment() {
        let r = build(&endpoint("https://crm.example.com/pop#x", PopMethod::Get), &fields());
        assert_eq!(r.url, format!("https://crm.example.com/pop?{FIELDS_QUERY}#x"));
    }

    #[test]
    fn values_are_form_encoded() {
        let mut f = fields();
        f.phone = "+972 50-123 4567".into();
        f.ivrid = "a&b=c".into();
        f.exten_user = "דנה".into();
        f.did = "x*y_z.~/".into();
        let r = build(&endpoint("http://crm/pop", PopMethod::Get), &f);
        assert_eq!(
            r.url,
            "http://crm/pop?phone=%2B972+50-123+4567&ivrid=a%26b%3Dc&extenUser=%D7%93%D7%A0%D7%94\
             &did=x*y_z.%7E%2F&statusCall=Ringing"
        );
    }

    #[test]
    fn post_sends_a_form_body() {
        let mut f = fields();
        f.status = PopStatus::Dialing;
        let r = build(&endpoint("https://crm.example.com/pop?key=abc", PopMethod::Post), &f);
        assert_eq!(r.method, PopMethod::Post);
        assert_eq!(r.url, "https://crm.example.com/pop?key=abc");
        assert_eq!(
            r.body.as_deref(),
            Some("phone=0722776772&ivrid=c-123&extenUser=201&did=0722776773&statusCall=Dialing")
        );
        assert_eq!(r.content_type, Some("application/x-www-form-urlencoded"));
    }

    #[test]
    fn custom_status_field_name() {
        let mut e = endpoint("https://crm.example.com/pop", PopMethod::Post);
        e.status_field = "status".into();
        let r = build(&e, &fields());
        assert_eq!(r.body.as_deref(), Some("phone=0722776772&ivrid=c-123&extenUser=201&did=0722776773&status=Ringing"));
        e.method = PopMethod::Get;
        assert!(build(&e, &fields()).url.ends_with("&did=0722776773&status=Ringing"));
    }

    #[test]
    fn reply_ok_with_every_field() {
        let body =
            br#"{"STATUS":"OK","URL":"https://crm/c/1","CLIENTNAME":"John Doe","TOTAL":1,"COMPANY":"Voicenter"}"#;
        let info = parse_reply(200, body, "201").unwrap();
        assert_eq!(
            info,
            CrmInfo {
                status: "OK".into(),
                url: Some("https://crm/c/1".into()),
                client_name: Some("John Doe".into()),
                total: Some(1),
                company: Some("Voicenter".into()),
                extension: "201".into(),
            }
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["client_name"], "John Doe");
        assert_eq!(json["extension"], "201");
    }

    #[test]
    fn reply_ok_with_status_only() {
        let info = parse_reply(200, br#"{"STATUS":"OK"}"#, "201").unwrap();
        assert_eq!((info.url, info.client_name, info.total, info.company), (None, None, None, None));
    }

    #[test]
    fn status_is_case_sensitive() {
        assert_eq!(parse_reply(200, br#"{"STATUS":"ok"}"#, "201"), Err(PopError::NotOk("ok".into())));
        assert_eq!(parse_reply(200, br#"{"STATUS":"ERROR"}"#, "201"), Err(PopError::NotOk("ERROR".into())));
        assert_eq!(parse_reply(200, br#"{"STATUS":1}"#, "201"), Err(PopError::NotOk("1".into())));
    }

    #[test]
    fn missing_status() {
        assert_eq!(parse_reply(200, br#"{"URL":"https://crm"}"#, "201"), Err(PopError::NotOk("missing".into())));
        assert_eq!(parse_reply(200, br#"{"STATUS":null}"#, "201"), Err(PopError::NotOk("missing".into())));
    }

    #[test]
    fn bad_json() {
        for body in [&b"<html>oops</html>"[..], b"", b"[1,2]", b"\"OK\"", b"{\"STATUS\":\"OK\""] {
            let e = parse_reply(200, body, "201").unwrap_err();
            assert!(matches!(e, PopError::BadJson(_)), "{body:?}: {e:?}");
            assert_eq!(e.kind(), "bad_json");
        }
    }

    #[test]
    fn byte_order_mark_is_tolerated() {
        assert!(parse_reply(200, b"\xEF\xBB\xBF{\"STATUS\":\"OK\"}", "201").is_ok());
    }

    #[test]
    fn non_2xx_is_http_error() {
        for code in [301, 404, 500, 503] {
            assert_eq!(parse_reply(code, br#"{"STATUS":"OK"}"#, "201"), Err(PopError::Http(code)));
        }
        assert_eq!(PopError::Http(500).kind(), "http_status");
        assert!(parse_reply(204, br#"{"STATUS":"OK"}"#, "201").is_ok());
    }

    #[test]
    fn total_as_numeric_string() {
        let info = parse_reply(200, br#"{"STATUS":"OK","TOTAL":"12"}"#, "201").unwrap();
        assert_eq!(info.total, Some(12));
        let info = parse_reply(200, br#"{"STATUS":"OK","TOTAL":" 3 "}"#, "201").unwrap();
        assert_eq!(info.total, Some(3));
        let info = parse_reply(200, br#"{"STATUS":"OK","TOTAL":2.0}"#, "201").unwrap();
        assert_eq!(info.total, Some(2));
        for bad in [r#""many""#, "1.5", "-1", "true", "[1]"] {
            let body = format!(r#"{{"STATUS":"OK","TOTAL":{bad}}}"#);
            assert_eq!(parse_reply(200, body.as_bytes(), "201").unwrap().total, None, "{bad}");
        }
    }

    #[test]
    fn wrong_typed_fields_are_ignored() {
        let body = br#"{"STATUS":"OK","URL":42,"CLIENTNAME":["x"],"COMPANY":{},"TOTAL":null}"#;
        let info = parse_reply(200, body, "201").unwrap();
        assert_eq!((info.url, info.client_name, info.total, info.company), (None, None, None, None));
        let info = parse_reply(200, br#"{"STATUS":"OK","URL":"","CLIENTNAME":"Dana"}"#, "201").unwrap();
        assert_eq!(info.url, None);
        assert_eq!(info.client_name.as_deref(), Some("Dana"));
    }

    #[test]
    fn long_status_is_clipped() {
        let body = format!(r#"{{"STATUS":"{}"}}"#, "x".repeat(1000));
        let Err(PopError::NotOk(s)) = parse_reply(200, body.as_bytes(), "201") else { panic!() };
        assert_eq!(s.chars().count(), 65);
    }

    #[test]
    fn error_kinds() {
        let kinds: Vec<&str> = [
            PopError::Http(500),
            PopError::BadJson(String::new()),
            PopError::NotOk("ok".into()),
            PopError::Timeout,
            PopError::Transport(String::new()),
        ]
        .iter()
        .map(PopError::kind)
        .collect();
        assert_eq!(kinds, ["http_status", "bad_json", "not_ok", "timeout", "transport"]);
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    /// Reads one request's head and body (by Content-Length).
    async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed before a full request");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    }

    async fn serve_once(listener: TcpListener, reply: &'static str) -> String {
        let (mut sock, _) = listener.accept().await.unwrap();
        let request = read_request(&mut sock).await;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        );
        sock.write_all(response.as_bytes()).await.unwrap();
        sock.shutdown().await.unwrap();
        request
    }

    #[tokio::test]
    async fn send_get_to_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve_once(
            listener,
            r#"{"STATUS":"OK","URL":"https://crm/c/7","CLIENTNAME":"דנה כהן","TOTAL":"2","COMPANY":"Acme"}"#,
        ));
        let mut f = fields();
        f.phone = "+972 50-123 4567".into();
        let req = build(&endpoint(&format!("http://{addr}/pop?key=abc"), PopMethod::Get), &f);
        let info = send(&client(), &req, Duration::from_secs(5), "201").await.unwrap();
        assert_eq!(info.url.as_deref(), Some("https://crm/c/7"));
        assert_eq!(info.client_name.as_deref(), Some("דנה כהן"));
        assert_eq!(info.total, Some(2));
        assert_eq!(info.company.as_deref(), Some("Acme"));
        assert_eq!(info.extension, "201");
        let request = server.await.unwrap();
        let first = request.lines().next().unwrap();
        assert_eq!(
            first,
            "GET /pop?key=abc&phone=%2B972+50-123+4567&ivrid=c-123&extenUser=201&did=0722776773\
             &statusCall=Ringing HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn send_post_to_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve_once(listener, r#"{"STATUS":"NOTFOUND"}"#));
        let mut e = endpoint(&format!("http://{addr}/pop"), PopMethod::Post);
        e.status_field = "status".into();
        let req = build(&e, &fields());
        let err = send(&client(), &req, Duration::from_secs(5), "201").await.unwrap_err();
        assert_eq!(err, PopError::NotOk("NOTFOUND".into()));
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /pop HTTP/1.1\r\n"), "{request}");
        assert!(request.to_ascii_lowercase().contains("content-type: application/x-www-form-urlencoded\r\n"));
        assert!(request.ends_with("\r\n\r\nphone=0722776772&ivrid=c-123&extenUser=201&did=0722776773&status=Ringing"));
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        // Bound but never accepted: the kernel completes the handshake and
        // takes the request; nobody answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let req = build(&endpoint(&format!("http://{addr}/pop"), PopMethod::Get), &fields());
        let started = std::time::Instant::now();
        let err = send(&client(), &req, Duration::from_millis(200), "201").await.unwrap_err();
        assert_eq!(err, PopError::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        drop(listener);
    }

    #[tokio::test]
    async fn refused_connection_is_a_transport_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let req = build(&endpoint(&format!("http://{addr}/pop"), PopMethod::Get), &fields());
        let err = send(&client(), &req, Duration::from_secs(2), "201").await.unwrap_err();
        let PopError::Transport(text) = &err else { panic!("{err:?}") };
        assert!(!text.contains("0722776772"), "the URL (with the customer's number) leaked: {text}");
        assert_eq!(err.kind(), "transport");
    }
}
