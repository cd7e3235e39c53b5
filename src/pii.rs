//! Personal data in logs: phone numbers and SIP users are redacted at info
//! level (debug logs, off by default, may show them for troubleshooting).

use std::fmt;

/// Shows the first three and last two characters of a number or SIP user.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        // For sip:user@host redact the user only; hosts are not personal.
        let (prefix, user, suffix) = match s.strip_prefix("sip:").or_else(|| s.strip_prefix("sips:")) {
            Some(rest) => {
                let at = rest.find('@').unwrap_or(rest.len());
                (&s[..s.len() - rest.len()], &rest[..at], &rest[at..])
            }
            None => ("", s, ""),
        };
        let chars: Vec<char> = user.chars().collect();
        f.write_str(prefix)?;
        if chars.len() <= 5 {
            for _ in &chars {
                f.write_str("*")?;
            }
        } else {
            let head: String = chars[..3].iter().collect();
            let tail: String = chars[chars.len() - 2..].iter().collect();
            write!(f, "{head}{}{tail}", "*".repeat(chars.len() - 5))?;
        }
        f.write_str(suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::Redacted;

    #[test]
    fn numbers_and_uris() {
        assert_eq!(Redacted("+15551234567").to_string(), "+15*******67");
        assert_eq!(Redacted("sip:1000@pbx.example.com").to_string(), "sip:****@pbx.example.com");
        assert_eq!(Redacted("sip:alice.smith@example.com").to_string(), "sip:ali******th@example.com");
        assert_eq!(Redacted("").to_string(), "");
    }
}
