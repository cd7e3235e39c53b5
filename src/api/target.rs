//! The `to` of `POST /v1/calls`: a phone number or a `sip:` URI, checked
//! and split into the Request-URI user and host.

use crate::config::{is_sip_user, split_host_port};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A number; the INVITE goes to the trunk's host with it as user.
    Number(String),
    /// `sip:user@host[:port]`, sent through the trunk's address.
    Uri { user: String, host: String },
}

impl Target {
    pub fn parse(to: &str) -> Result<Target, String> {
        let to = to.trim();
        if let Some(rest) = to.strip_prefix("sip:") {
            let (user, host) = rest.split_once('@').ok_or("a SIP URI needs user@host")?;
            if !is_sip_user(user) {
                return Err(format!("{user:?} is not a SIP user we can dial (digits, letters, + * . _ -)"));
            }
            if host.contains([';', '?', ' ', '>', '<']) {
                return Err("URI parameters and headers are not supported".into());
            }
            let host_ok = match split_host_port(host) {
                Ok(_) => true,
                Err(_) => !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            };
            if !host_ok {
                return Err(format!("{host:?} is not a host[:port]"));
            }
            return Ok(Target::Uri { user: user.into(), host: host.into() });
        }
        if to.starts_with("sips:") {
            return Err("sips: needs SIP over TLS, which this version does not speak".into());
        }
        let number = to.strip_prefix("tel:").unwrap_or(to);
        // RFC 3966 visual separators are dropped.
        let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let body = digits.strip_prefix('+').unwrap_or(&digits);
        if body.len() < 2 || body.len() > 20 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a phone number (digits, optional leading +) or a sip:user@host URI".into());
        }
        Ok(Target::Number(digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(Target::parse("+1 (555) 123-4567"), Ok(Target::Number("+15551234567".into())));
        assert_eq!(Target::parse("tel:+44.20.7946.0000"), Ok(Target::Number("+442079460000".into())));
        assert!(Target::parse("555-CALL-NOW").is_err());
        assert!(Target::parse("+").is_err());
        assert!(Target::parse("1234567890123456789012").is_err());
    }

    #[test]
    fn uris() {
        assert_eq!(
            Target::parse("sip:1000@pbx.example.com"),
            Ok(Target::Uri { user: "1000".into(), host: "pbx.example.com".into() })
        );
        assert_eq!(
            Target::parse("sip:alice@127.0.0.1:5070").unwrap(),
            Target::Uri { user: "alice".into(), host: "127.0.0.1:5070".into() }
        );
        assert!(Target::parse("sip:@host").is_err());
        assert!(Target::parse("sip:1000@host;transport=tcp").is_err());
        assert!(Target::parse("sip:1000").is_err());
        assert!(Target::parse("sips:1000@host").is_err());
    }
}
