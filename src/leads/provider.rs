//! SMS and WhatsApp follow-ups (seed 001) through an HTTP messaging
//! provider, and the error type every lead message sender shares.
//!
//! Providers differ in everything but the shape of the exchange, so the
//! request is configuration: a URL, an optional authentication header and a
//! JSON body template. The template is JSON itself; `{vars}` inside its
//! string values are substituted (see [`template`]) and the values stay
//! strings whatever they hold, so no value can change the body's shape. One POST per message; any 2xx is success.
//! The provider's answer is not read beyond what an error report needs.
//!
//! [`SendError::permanent`] tells the caller whether retrying can help.

use super::template::{self, Escape};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How much of a rejecting provider's or server's answer an error keeps.
const REPLY_CHARS: usize = 200;

/// Why a lead message was not sent, shared by [`Provider`] and
/// [`super::mail::Mailer`]. Messages never carry the recipient's address or
/// number (see `crate::pii`); an SMTP server's own reply may quote it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A sender or recipient address that cannot be used.
    #[error("bad address: {0}")]
    Address(String),
    /// A template that does not render to a usable message.
    #[error("template: {0}")]
    Template(String),
    /// Settings that can never work (a bad URL or header, credentials that
    /// would be sent in clear): retrying does not help.
    #[error("configuration: {0}")]
    Config(String),
    /// Connecting, TLS, or the connection breaking.
    #[error("transport: {0}")]
    Transport(String),
    /// The HTTP provider answered with a non-2xx status.
    #[error("rejected with HTTP {status}: {body}")]
    Rejected {
        status: u16,
        /// The first 200 characters of the answer.
        body: String,
    },
    /// The SMTP server refused the message (4xx or 5xx reply). Kept apart
    /// from [`SendError::Rejected`] because the classes mean the opposite:
    /// SMTP 4xx is "try again later", HTTP 4xx is "never like this".
    #[error("rejected by the SMTP server: {code} {message}")]
    SmtpRejected {
        code: u16,
        /// The first 200 characters of the server's reply.
        message: String,
    },
    #[error("timed out")]
    Timeout,
}

impl SendError {
    /// True when sending the same message again cannot succeed: bad
    /// addresses, templates and settings, HTTP 4xx (except 408 Request
    /// Timeout and 429 Too Many Requests) and SMTP 5xx. Everything else
    /// (transport errors, timeouts, HTTP 5xx, SMTP 4xx) is worth a retry.
    pub fn permanent(&self) -> bool {
        match self {
            SendError::Address(_) | SendError::Template(_) | SendError::Config(_) => true,
            SendError::Rejected { status, .. } => (400..500).contains(status) && *status != 408 && *status != 429,
            SendError::SmtpRejected { code, .. } => (500..600).contains(code),
            SendError::Transport(_) | SendError::Timeout => false,
        }
    }
}

/// At most the first [`REPLY_CHARS`] characters of `s`.
pub(super) fn first_chars(s: &str) -> String {
    s.chars().take(REPLY_CHARS).collect()
}

#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// Where the message is POSTed (http or https).
    pub url: String,
    /// One header carrying the credentials, e.g. `("Authorization", "Bearer x")`.
    pub auth_header: Option<(String, String)>,
    /// JSON whose string values may hold `{vars}`:
    /// `{"to": "{to}", "text": "{text}"}`.
    pub body_template: String,
    /// Bounds the whole exchange, from connecting to reading the status.
    pub timeout: Duration,
}

/// Sends messages through one configured provider. Cheap to share: the
/// `reqwest::Client` inside is a handle to the daemon's connection pool.
pub struct Provider {
    s: ProviderSettings,
    client: reqwest::Client,
    // Parsed once; a bad value is reported by every send (as a permanent
    // error) rather than making construction fallible: config loading
    // should have caught it with [`check_settings`].
    url: Result<reqwest::Url, String>,
    auth: Result<Option<(HeaderName, HeaderValue)>, String>,
}

impl Provider {
    pub fn new(s: ProviderSettings, client: reqwest::Client) -> Provider {
        let url = parse_url(&s.url);
        let auth = s.auth_header.as_ref().map(parse_header).transpose();
        Provider { s, client, url, auth }
    }

    /// Renders the body and POSTs it. `vars` missing a placeholder's name
    /// render it empty, as everywhere in [`template`].
    pub async fn send(&self, vars: &BTreeMap<String, String>) -> Result<(), SendError> {
        let body = self.body(vars)?;
        let url = self.url.clone().map_err(SendError::Config)?;
        let auth = self.auth.clone().map_err(SendError::Config)?;
        let mut req = self.client.post(url).timeout(self.s.timeout).header(CONTENT_TYPE, "application/json").body(body);
        if let Some((name, value)) = auth {
            req = req.header(name, value);
        }
        let exchange = async {
            let mut resp = req.send().await.map_err(transport)?;
            let status = resp.status();
            if status.is_success() {
                return Ok(());
            }
            // Enough bytes for 200 characters of any script; a provider's
            // error page can be large and only its start is kept.
            let mut reply = Vec::new();
            while reply.len() < REPLY_CHARS * 4 {
                match resp.chunk().await {
                    Ok(Some(chunk)) => reply.extend_from_slice(&chunk),
                    // The status already says what matters; a body cut short
                    // does not turn a rejection into a transport error.
                    Ok(None) | Err(_) => break,
                }
            }
            Err(SendError::Rejected { status: status.as_u16(), body: first_chars(&String::from_utf8_lossy(&reply)) })
        };
        // reqwest's timeout covers the request; this also bounds reading
        // the error body.
        match tokio::time::timeout(self.s.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Timeout),
        }
    }

    fn body(&self, vars: &BTreeMap<String, String>) -> Result<String, SendError> {
        // Checked here as well as at config load: the settings may not
        // have come through the config.
        let t: Value = serde_json::from_str(&self.s.body_template)
            .map_err(|e| SendError::Template(format!("the body template is not JSON: {e}")))?;
        Ok(fill(&t, vars).to_string())
    }
}

/// The template with each string value rendered; keys and other values
/// are kept as written.
fn fill(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(template::render(s, vars, Escape::None)),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, vars)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), fill(x, vars))).collect()),
        other => other.clone(),
    }
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// For config loading: the template is JSON and the placeholders in its
/// string values are all in `known`.
pub fn check_body_template(t: &str, known: &[&str]) -> Result<(), String> {
    let v: Value = serde_json::from_str(t).map_err(|e| {
        format!("body template: not JSON ({e}); placeholders go inside its string values: {{\"text\": \"{{text}}\"}}")
    })?;
    let mut all = Vec::new();
    strings(&v, &mut all);
    for s in all {
        template::check(s, known)?;
    }
    Ok(())
}

/// For config loading: everything [`Provider::send`] would otherwise report
/// on every message as [`SendError::Config`] or [`SendError::Template`].
pub fn check_settings(s: &ProviderSettings, known: &[&str]) -> Result<(), String> {
    parse_url(&s.url)?;
    if let Some(h) = &s.auth_header {
        parse_header(h)?;
    }
    if s.timeout.is_zero() {
        return Err("provider: the timeout must be above zero".into());
    }
    check_body_template(&s.body_template, known)
}

fn parse_url(url: &str) -> Result<reqwest::Url, String> {
    // The URL may hold an API key in its query: errors do not quote it.
    let u = reqwest::Url::parse(url).map_err(|e| format!("provider url: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("provider url: the scheme must be http or https, not {}", u.scheme()));
    }
    Ok(u)
}

fn parse_header((name, value): &(String, String)) -> Result<(HeaderName, HeaderValue), String> {
    let n =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("auth header: {name:?} is not a header name"))?;
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| format!("auth header {name}: the value is not a valid header value"))?;
    // Keeps the credential out of any Debug output of the request.
    v.set_sensitive(true);
    Ok((n, v))
}

fn transport(e: reqwest::Error) -> SendError {
    if e.is_timeout() {
        return SendError::Timeout;
    }
    // Without the URL: its query may carry an API key.
    let e = e.without_url();
    SendError::Transport(error_chain(&e))
}

/// An error with its sources, each once (some errors already print their
/// source in their own message).
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["phone", "text", "link"];

    fn settings(body_template: &str) -> ProviderSettings {
        ProviderSettings {
            url: "https://sms.example.test/v1/messages?key=secret".into(),
            auth_header: Some(("Authorization".into(), "Bearer x".into())),
            body_template: body_template.into(),
            timeout: Duration::from_secs(5),
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn body_values_are_json_escaped() {
        let p = Provider::new(settings(r#"{"to": "{phone}", "text": "{text}"}"#), reqwest::Client::new());
        let text = "Hi \"Dana\" \\ שלום\nпривет {link}";
        let body = p.body(&vars(&[("phone", "+972501234567"), ("text", text)])).unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "+972501234567");
        assert_eq!(v["text"], text);
    }

    #[test]
    fn a_body_that_is_not_json_is_a_permanent_template_error() {
        let p = Provider::new(settings(r#"{"n": {phone}}"#), reqwest::Client::new());
        let e = p.body(&vars(&[("phone", "+1 555")])).unwrap_err();
        assert!(matches!(e, SendError::Template(_)) && e.permanent(), "{e:?}");
    }

    #[test]
    fn body_template_check() {
        assert_eq!(check_body_template(r#"{"to": "{phone}", "text": "{text}", "n": 1}"#, KNOWN), Ok(()));
        assert_eq!(check_body_template(r#"[{"to": "{phone}"}, "x{{y}}"]"#, KNOWN), Ok(()));
        // A placeholder outside quotes, unknown names, no JSON.
        for bad in [r#"{"n": {phone}}"#, r#"{"to": "{fone}"}"#, "text {text}", ""] {
            assert!(check_body_template(bad, KNOWN).is_err(), "{bad}");
        }
        let e = check_body_template(r#"{"to": {phone}}"#, KNOWN).unwrap_err();
        assert!(e.contains("string values"), "{e}");
    }

    #[test]
    fn settings_check() {
        let ok = settings(r#"{"to": "{phone}"}"#);
        assert_eq!(check_settings(&ok, KNOWN), Ok(()));
        let e = check_settings(&ProviderSettings { url: "ftp://x.test/".into(), ..ok.clone() }, KNOWN).unwrap_err();
        assert!(e.contains("http or https"), "{e}");
        assert!(check_settings(&ProviderSettings { url: "not a url".into(), ..ok.clone() }, KNOWN).is_err());
        let bad_header = Some(("Bad Header".into(), "x".into()));
        assert!(check_settings(&ProviderSettings { auth_header: bad_header, ..ok.clone() }, KNOWN).is_err());
        let bad_value = Some(("Authorization".into(), "a\nb".into()));
        let e = check_settings(&ProviderSettings { auth_header: bad_value, ..ok.clone() }, KNOWN).unwrap_err();
        assert!(!e.contains("a\nb"), "the credential is not quoted: {e}");
        assert!(check_settings(&ProviderSettings { timeout: Duration::ZERO, ..ok }, KNOWN).is_err());
    }

    #[tokio::test]
    async fn bad_settings_fail_each_send_permanently_without_network() {
        let s = ProviderSettings { url: "nope".into(), ..settings(r#"{"to": "{phone}"}"#) };
        let e = Provider::new(s, reqwest::Client::new()).send(&vars(&[])).await.unwrap_err();
        assert!(matches!(e, SendError::Config(_)) && e.permanent(), "{e:?}");
        let s = ProviderSettings { auth_header: Some(("X".into(), "\r".into())), ..settings("{}") };
        let e = Provider::new(s, reqwest::Client::new()).send(&vars(&[])).await.unwrap_err();
        assert!(matches!(e, SendError::Config(_)), "{e:?}");
    }

    #[test]
    fn which_errors_are_permanent() {
        let rejected = |status| SendError::Rejected { status, body: String::new() };
        let smtp = |code| SendError::SmtpRejected { code, message: String::new() };
        for e in [
            SendError::Address("x".into()),
            SendError::Template("x".into()),
            SendError::Config("x".into()),
            rejected(400),
            rejected(401),
            rejected(404),
            rejected(422),
            rejected(499),
            smtp(500),
            smtp(535),
            smtp(550),
            smtp(554),
        ] {
            assert!(e.permanent(), "{e:?}");
        }
        for e in [
            SendError::Transport("x".into()),
            SendError::Timeout,
            rejected(408),
            rejected(429),
            rejected(500),
            rejected(502),
            rejected(503),
            smtp(421),
            smtp(450),
            smtp(452),
        ] {
            assert!(!e.permanent(), "{e:?}");
        }
    }

    #[test]
    fn replies_are_cut_at_200_characters() {
        assert_eq!(first_chars(&"ж".repeat(300)).chars().count(), 200);
        assert_eq!(first_chars("short"), "short");
    }
}
