//! Raw SIP datagrams before rsipstack parses them, sans-IO.
//!
//! rsipstack's parser is lenient where RFC 3261 is strict (it accepts most
//! of RFC 4475's invalid messages) and strict where RFC 3261 is lenient (it
//! refuses some valid ones: folded headers, extension methods, RFC 2543
//! requests). `lint` applies the grammar rules a UAS is held to, and
//! `response` builds stateless answers from raw headers for the requests the
//! stack cannot take.

/// Compact header forms (RFC 3261 §7.3.3, and later RFCs').
fn long_name(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    let long = match n.as_str() {
        "i" => "call-id",
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "l" => "content-length",
        "m" => "contact",
        "c" => "content-type",
        "e" => "content-encoding",
        "k" => "supported",
        "s" => "subject",
        "o" => "event",
        "r" => "refer-to",
        "b" => "referred-by",
        "u" => "allow-events",
        "x" => "session-expires",
        _ => return n,
    };
    long.to_string()
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Request { method: String, uri: String, version: String, line: String },
    Response { code: Option<u16> },
}

/// A datagram split into start line, unfolded headers and body.
#[derive(Debug, Clone)]
pub struct Message {
    pub start: Start,
    /// (lower-case long name, value) per header line, folding undone.
    pub headers: Vec<(String, String)>,
    /// Header lines without a colon.
    pub broken_lines: usize,
    pub body_len: usize,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn method(&self) -> Option<&str> {
        match &self.start {
            Start::Request { method, .. } => Some(method),
            Start::Response { .. } => None,
        }
    }
}

pub fn scan(bytes: &[u8]) -> Option<Message> {
    let (head, body_len) = match find(bytes, b"\r\n\r\n") {
        Some(i) => (&bytes[..i], bytes.len() - i - 4),
        None => match find(bytes, b"\n\n") {
            Some(i) => (&bytes[..i], bytes.len() - i - 2),
            None => (bytes, 0),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next()?.to_string();
    let start = if let Some(rest) = first.strip_prefix("SIP/") {
        let code = rest
            .split(' ')
            .nth(1)
            .filter(|c| c.len() == 3)
            .and_then(|c| c.parse().ok())
            .filter(|c| (100..700).contains(c));
        Start::Response { code }
    } else {
        let mut parts = first.split_whitespace();
        let (method, uri, version) = (parts.next()?, parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        Start::Request { method: method.into(), uri: uri.into(), version: version.into(), line: first.clone() }
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut broken_lines = 0;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // §7.3.1: a line folded onto the next counts as one SP.
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() && name.trim().chars().all(is_token_char) => {
                headers.push((long_name(name.trim()), value.trim().to_string()));
            }
            _ => broken_lines += 1,
        }
    }
    Some(Message { start, headers, broken_lines, body_len })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What to do with a request the lint judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Answer with this status (the message is readable enough to reply).
    Reject(u16, &'static str),
    /// Not even a reply is possible.
    Drop(&'static str),
}

/// RFC 3261 §7, §8.2, §20 and §25 rules a UAS enforces (RFC 4475 §3.1.2).
pub fn lint(m: &Message) -> Verdict {
    let Start::Request { method, uri, version, line } = &m.start else { return Verdict::Pass };
    if m.header("via").is_none() {
        return Verdict::Drop("no Via to answer to");
    }
    // §25.1: Method SP Request-URI SP SIP-Version, single spaces.
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Verdict::Reject(400, "malformed Request-Line");
    }
    if version != "SIP/2.0" {
        return Verdict::Reject(505, "version");
    }
    if !method.chars().all(is_token_char) {
        return Verdict::Reject(400, "method is not a token");
    }
    if let Err(why) = check_request_uri(uri) {
        return Verdict::Reject(400, why);
    }
    if m.broken_lines > 0 {
        return Verdict::Reject(400, "header line without a colon");
    }
    for required in ["from", "to", "call-id", "cseq"] {
        if m.header(required).is_none() {
            return Verdict::Reject(400, "missing mandatory header");
        }
    }
    // §8.1.1.5: CSeq number below 2**31, method equal to the request's.
    let cseq = m.header("cseq").unwrap_or_default();
    let mut cs = cseq.split_whitespace();
    let ok = cs.next().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n < 1 << 31)
        && cs.next() == Some(method.as_str())
        && cs.next().is_none();
    if !ok || m.all("cseq").count() > 1 {
        return Verdict::Reject(400, "bad CSeq");
    }
    if let Some(mf) = m.header("max-forwards")
        && !mf.parse::<u32>().is_ok_and(|v| v <= 255)
    {
        return Verdict::Reject(400, "bad Max-Forwards");
    }
    // §18.3, §20.14: one non-negative Content-Length, no larger than the body.
    let lengths: Vec<&str> = m.all("content-length").collect();
    let mut length = None;
    for l in &lengths {
        match l.parse::<usize>() {
            Ok(v) if length.is_none_or(|x| x == v) => length = Some(v),
            _ => return Verdict::Reject(400, "bad Content-Length"),
        }
    }
    if lengths.len() > 1 || length.is_some_and(|l| l > m.body_len) {
        return Verdict::Reject(400, "bad Content-Length");
    }
    for name in ["from", "to"] {
        if m.all(name).count() > 1 || m.all(name).any(|v| check_name_addr(v).is_err()) {
            return Verdict::Reject(400, "malformed From/To");
        }
    }
    for v in m.all("contact") {
        if v.trim() != "*" && split_list(v).iter().any(|c| check_name_addr(c).is_err()) {
            return Verdict::Reject(400, "malformed Contact");
        }
    }
    for v in m.all("via") {
        if split_list(v).iter().any(|via| via.split_once(';').is_some_and(|(_, p)| check_params(p).is_err())) {
            return Verdict::Reject(400, "malformed Via");
        }
    }
    Verdict::Pass
}

fn check_request_uri(uri: &str) -> Result<(), &'static str> {
    if uri.contains(['<', '>']) {
        return Err("Request-URI in angle brackets");
    }
    let lower = uri.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("sip:").or_else(|| lower.strip_prefix("sips:")) else {
        return Ok(()); // other schemes are refused later with 416
    };
    // §19.1.1: no headers in a Request-URI ('?' may appear in the user part).
    let host_part = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if host_part.contains('?') {
        return Err("headers in the Request-URI");
    }
    check_host(host_part.split(';').next().unwrap_or(""))
}

/// RFC 5118 §4.2/§4.10: IPv6 references in brackets and well formed.
fn check_host(hostport: &str) -> Result<(), &'static str> {
    if let Some(inner) = hostport.strip_prefix('[') {
        let (addr, after) = inner.split_once(']').ok_or("unterminated IPv6 reference")?;
        addr.parse::<std::net::Ipv6Addr>().map_err(|_| "invalid IPv6 reference")?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())) {
            return Err("bad port");
        }
    } else if hostport.matches(':').count() > 1 {
        return Err("IPv6 address without brackets");
    }
    Ok(())
}

/// Splits a header list on commas outside quotes and angle brackets.
fn split_list(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut angle, mut start) = (false, false, false, 0);
    for (i, c) in v.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// `name-addr / addr-spec` followed by `;params` (§20.10, §25.1).
fn check_name_addr(v: &str) -> Result<(), &'static str> {
    let v = v.trim();
    // Find the end of a leading quoted string, honouring escapes.
    let mut display_end = 0;
    if v.starts_with('"') {
        let mut escaped = false;
        let mut end = None;
        for (i, c) in v.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                _ => {}
            }
        }
        display_end = end.ok_or("unterminated quoted string")?;
    }
    let rest = &v[display_end..];
    let after = if let Some(lt) = rest.find('<') {
        let display = rest[..lt].trim();
        if display_end == 0 && !display.chars().all(|c| is_token_char(c) || c == ' ' || c == '\t') {
            return Err("display name is neither tokens nor quoted");
        }
        if display_end > 0 && !display.is_empty() {
            return Err("text after the quoted display name");
        }
        let gt = rest[lt..].find('>').ok_or("unterminated angle bracket")? + lt;
        let spec = &rest[lt + 1..gt];
        if spec.is_empty() || spec.contains([' ', '\t']) {
            return Err("white space in addr-spec");
        }
        &rest[gt + 1..]
    } else {
        if display_end > 0 {
            return Err("quoted display name without <addr-spec>");
        }
        // §20: an addr-spec with , ? or ; params must be in brackets; here
        // the first ; starts header params.
        let spec = rest.split(';').next().unwrap_or("").trim();
        if spec.is_empty() || spec.contains([' ', '\t', ',', '?', '"']) {
            return Err("bad addr-spec");
        }
        &rest[rest.find(';').unwrap_or(rest.len())..]
    };
    let after = after.trim();
    if after.is_empty() {
        return Ok(());
    }
    let p = after.strip_prefix(';').ok_or("junk after the address")?;
    check_params(p)
}

/// `param *(;param)` with `param = token [= token / quoted-string]`.
fn check_params(p: &str) -> Result<(), &'static str> {
    for seg in split_semis(p) {
        let seg = seg.trim();
        let name = seg.split('=').next().unwrap_or("").trim();
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err("empty or malformed parameter");
        }
    }
    Ok(())
}

fn split_semis(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in v.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// Whether the top Via carries an RFC 3261 branch (`z9hG4bK…`); rsipstack
/// cannot key RFC 2543 transactions (§17.2.3), so those are answered here.
pub fn has_rfc3261_branch(m: &Message) -> bool {
    m.header("via").is_some_and(|v| {
        let first = split_list(v)[0];
        split_semis(first).iter().skip(1).any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            name.trim().eq_ignore_ascii_case("branch") && value.trim().starts_with("z9hG4bK")
        })
    })
}

/// A stateless response (§8.2.6.2, §8.2.7) echoing the request's Via,
/// From, To (tagged), Call-ID and CSeq as received.
pub fn response(m: &Message, status: u16, reason: &str, to_tag: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for (name, value) in &m.headers {
        let label = match name.as_str() {
            "via" => "Via",
            "from" => "From",
            "call-id" => "Call-ID",
            "cseq" => "CSeq",
            "to" => {
                let tagged =
                    split_semis(value).iter().skip(1).any(|p| p.trim().to_ascii_lowercase().starts_with("tag"));
                if tagged {
                    out.push_str(&format!("To: {value}\r\n"));
                } else {
                    out.push_str(&format!("To: {value};tag={to_tag}\r\n"));
                }
                continue;
            }
            _ => continue,
        };
        out.push_str(&format!("{label}: {value}\r\n"));
    }
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        505 => "Version Not Supported",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests;
