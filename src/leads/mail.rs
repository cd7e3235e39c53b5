//! Email follow-ups (seed 001): one message per lead, sent over SMTP to the
//! operator's relay with lettre. Plain text always; with an HTML version the
//! message is multipart/alternative. Subjects and bodies may be any UTF-8
//! (Hebrew, Russian): lettre encodes headers per RFC 2047 and picks
//! quoted-printable or base64 for bodies, so the wire stays 7-bit.
//!
//! TLS is rustls with the ring provider and Mozilla's roots (webpki-roots),
//! the same stack reqwest already uses here, so certificate checks do not
//! depend on the machine's CA bundle. STARTTLS is required when asked for,
//! never opportunistic: a server that stops offering it fails the send
//! instead of silently getting the password in clear.

use super::provider::{SendError, error_chain, first_chars};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP: only for a relay on this host or a test server.
    None,
    /// Connect in clear, then upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, `leads@acme.test` or `Acme <leads@acme.test>`.
    pub from: String,
    /// Bounds each network step and the whole send.
    pub timeout: Duration,
    /// Skips certificate and host name checks: for dev servers only.
    pub accept_invalid_certs: bool,
}

/// Sends lead emails through one SMTP relay. Each send opens its own
/// connection: follow-ups are rare next to calls, and a fresh connection
/// cannot be one the relay has already dropped.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    /// Validates the settings (the `from` address above all) without
    /// connecting: the relay is first contacted by [`Mailer::send`].
    pub fn new(s: &SmtpSettings) -> Result<Mailer, SendError> {
        let from: Mailbox = s.from.parse().map_err(|e| SendError::Address(format!("from {:?}: {e}", s.from)))?;
        if s.host.trim().is_empty() {
            return Err(SendError::Config("smtp: the host is empty".into()));
        }
        if s.timeout.is_zero() {
            return Err(SendError::Config("smtp: the timeout must be above zero".into()));
        }
        let credentials = match (&s.username, &s.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
            (None, None) => None,
            (Some(_), None) => return Err(SendError::Config("smtp: a username needs a password".into())),
            (None, Some(_)) => return Err(SendError::Config("smtp: a password needs a username".into())),
        };
        // lettre would send AUTH PLAIN over a plain connection; only a relay
        // on this host is safe to talk to that way.
        if credentials.is_some() && s.security == Security::None && !is_loopback(&s.host) {
            return Err(SendError::Config(format!(
                "smtp: credentials would cross the network in clear to {}: use StartTls or Tls",
                s.host
            )));
        }
        let tls = || {
            TlsParameters::builder(s.host.clone())
                .dangerous_accept_invalid_certs(s.accept_invalid_certs)
                .dangerous_accept_invalid_hostnames(s.accept_invalid_certs)
                .build()
                .map_err(|e| SendError::Config(format!("smtp tls: {e}")))
        };
        let tls = match s.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls()?),
            Security::Tls => Tls::Wrapper(tls()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.as_str())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(Mailer { transport: builder.build(), from, timeout: s.timeout })
    }

    /// Sends one message to `to` (`dana@example.test` or `Dana
    /// <dana@example.test>`). With `html` the message carries both
    /// versions; mail clients show the richest they can.
    pub async fn send(&self, to: &str, subject: &str, text: &str, html: Option<&str>) -> Result<(), SendError> {
        let message = self.message(to, subject, text, html)?;
        // The whole exchange, not just each read: a relay that trickles
        // replies must not hold a follow-up forever. A timeout after the
        // final dot may still have delivered it; a retry then sends a
        // duplicate, which is better than losing the lead.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(smtp_error(&e)),
            Err(_) => Err(SendError::Timeout),
        }
    }

    fn message(&self, to: &str, subject: &str, text: &str, html: Option<&str>) -> Result<Message, SendError> {
        // The reason only: the address is the lead's, and errors get logged.
        let to: Mailbox = to.parse().map_err(|e| SendError::Address(format!("recipient: {e}")))?;
        // Message-ID in the sender's domain rather than this host's name,
        // which is internal and makes spam filters suspicious.
        let id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), self.from.email.domain());
        let builder = Message::builder().from(self.from.clone()).to(to).subject(subject).message_id(Some(id));
        let built = match html {
            None => builder.singlepart(SinglePart::plain(text.to_owned())),
            Some(h) => builder.multipart(MultiPart::alternative_plain_html(text.to_owned(), h.to_owned())),
        };
        built.map_err(|e| SendError::Address(format!("message: {e}")))
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_timeout() {
        return SendError::Timeout;
    }
    if let Some(code) = e.status() {
        // The source is the server's own reply text; lettre's wording
        // around it would repeat the code.
        let reply = std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string());
        return SendError::SmtpRejected { code: code.into(), message: first_chars(&reply) };
    }
    SendError::Transport(error_chain(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.acme.test".into(),
            port: 587,
            security: Security::StartTls,
            username: Some("leads".into()),
            password: Some("secret".into()),
            from: "Acme Leads <leads@acme.test>".into(),
            timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
        }
    }

    fn formatted(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn from_addresses_are_validated() {
        for ok in
            ["leads@acme.test", "Acme <leads@acme.test>", "\"Acme, Inc.\" <leads@acme.test>", "אקמה <l@acme.test>"]
        {
            assert!(Mailer::new(&SmtpSettings { from: ok.into(), ..settings() }).is_ok(), "{ok}");
        }
        for bad in ["", "acme", "Acme <leads>", "leads@", "@acme.test", "a@b@c", "Acme <leads@acme.test"] {
            let e = Mailer::new(&SmtpSettings { from: bad.into(), ..settings() }).err().unwrap();
            assert!(matches!(e, SendError::Address(_)) && e.permanent(), "{bad}: {e:?}");
        }
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let cases = [
            SmtpSettings { password: None, ..settings() },
            SmtpSettings { username: None, ..settings() },
            SmtpSettings { host: " ".into(), ..settings() },
            SmtpSettings { timeout: Duration::ZERO, ..settings() },
            SmtpSettings { security: Security::None, ..settings() },
        ];
        for s in cases {
            assert!(matches!(Mailer::new(&s), Err(SendError::Config(_))), "{s:?}");
        }
        // No credentials, or a relay on this host: plain SMTP is fine.
        assert!(
            Mailer::new(&SmtpSettings { security: Security::None, username: None, password: None, ..settings() })
                .is_ok()
        );
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            assert!(Mailer::new(&SmtpSettings { security: Security::None, host: host.into(), ..settings() }).is_ok());
        }
        assert!(
            Mailer::new(&SmtpSettings { security: Security::Tls, accept_invalid_certs: true, ..settings() }).is_ok()
        );
    }

    #[test]
    fn recipients_are_validated_without_quoting_them() {
        let m = Mailer::new(&settings()).unwrap();
        for bad in ["", "dana", "dana@", "Dana <dana>", "dana@example.test, eve@example.test"] {
            let e = m.message(bad, "s", "t", None).unwrap_err();
            assert!(matches!(e, SendError::Address(_)) && e.permanent(), "{bad}: {e:?}");
            assert!(bad.is_empty() || !e.to_string().contains(bad), "{e}");
        }
        assert!(m.message("Dana Cohen <dana@example.test>", "s", "t", None).is_ok());
    }

    #[test]
    fn text_only_and_alternative_messages() {
        let m = Mailer::new(&settings()).unwrap();
        let plain = formatted(&m.message("dana@example.test", "Hello", "Just text", None).unwrap());
        assert!(plain.contains("Content-Type: text/plain; charset=utf-8"), "{plain}");
        assert!(!plain.contains("multipart"), "{plain}");
        assert!(plain.contains("From: \"Acme Leads\" <leads@acme.test>"), "{plain}");
        assert!(plain.contains("Message-ID: <") && plain.contains("@acme.test>"), "{plain}");
        let both = formatted(&m.message("dana@example.test", "Hello", "Text", Some("<p>HTML</p>")).unwrap());
        assert!(both.contains("Content-Type: multipart/alternative"), "{both}");
        let text_at = both.find("Content-Type: text/plain").unwrap();
        let html_at = both.find("Content-Type: text/html").unwrap();
        // RFC 2046: the richest version last.
        assert!(text_at < html_at, "{both}");
    }

    #[test]
    fn utf8_subjects_and_bodies_are_encoded_7bit() {
        let m = Mailer::new(&settings()).unwrap();
        let raw = formatted(&m.message("dana@example.test", "שלום, привет", "גוף ההודעה — тело", None).unwrap());
        assert!(raw.is_ascii(), "{raw}");
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let m = Mailer::new(&settings()).unwrap();
        let raw = formatted(&m.message("dana@example.test", "Hi\r\nBcc: eve@evil.test", "t", None).unwrap());
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }
}
