//! Seed 001's wire format: the form fields of `action=token_create` and
//! `action=lead_submit`, validated into typed requests, and the JSON reply
//! (`status` ok|fail|error with `msg` naming the field). Pure: the route
//! in `api/leads.rs` feeds it the decoded form and sends what it returns.

use serde::Serialize;
use serde_json::Value;

/// A field that is wrong; the reply's `msg` is `"<field>: <message>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WireError {
    pub field: String,
    pub message: String,
}

fn err<T>(field: &str, message: impl Into<String>) -> Result<T, WireError> {
    Err(WireError { field: field.into(), message: message.into() })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    TokenCreate(TokenCreate),
    LeadSubmit(Box<LeadSubmit>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCreate {
    pub account_key: String,
    pub apikey: String,
}

/// Every field of the seed's table. `phone_number` is kept raw: curating
/// and normalising it needs the account's region.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LeadSubmit {
    pub account_key: String,
    #[serde(skip)]
    pub auth: String,
    pub customer_id: String,
    pub interaction_id: String,
    pub phone_number: String,
    pub service_id: i64,
    pub service_name: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: Option<String>,
    pub custom_data: Option<Value>,
    pub payload: Option<Value>,
    pub langcode: Option<String>,
    pub location: Option<String>,
    pub kiosk_id: Option<i64>,
    pub nps: Option<i64>,
    pub sharecontent_id: Option<String>,
}

/// The reply body, seed 001's response table.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Reply {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_working_hours: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_ivr_call_counter: Option<u32>,
}

impl Reply {
    pub fn fail(msg: impl Into<String>) -> Reply {
        Reply { status: "fail", msg: Some(msg.into()), ..Default::default() }
    }
    pub fn error(msg: impl Into<String>) -> Reply {
        Reply { status: "error", msg: Some(msg.into()), ..Default::default() }
    }
}

/// The form's fields, first occurrence wins; empty values are absent.
struct Fields<'a>(&'a [(String, String)]);

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, WireError> {
        self.get(name).map_or_else(|| err(name, "is required"), Ok)
    }

    fn text(&self, name: &str, max: usize) -> Result<Option<String>, WireError> {
        let Some(v) = self.get(name) else { return Ok(None) };
        let v = curate_text(v);
        if v.chars().count() > max {
            return err(name, format!("at most {max} characters"));
        }
        Ok(Some(v).filter(|v| !v.is_empty()))
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, WireError> {
        let Some(v) = self.get(name) else { return Ok(None) };
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return err(name, "must be a whole number");
        }
        Ok(v.parse().ok())
    }

    fn json(&self, name: &str) -> Result<Option<Value>, WireError> {
        let Some(v) = self.get(name) else { return Ok(None) };
        if v.len() > 16 * 1024 {
            return err(name, "at most 16384 bytes of JSON");
        }
        match serde_json::from_str(v) {
            Ok(j) => Ok(Some(j)),
            Err(e) => err(name, format!("must be a JSON-encoded string ({e})")),
        }
    }
}

/// Free text as seed 001 "curates" it: control characters go (they break
/// CSV reports and CRM screens), runs of white space become one space.
pub fn curate_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || (c == ' ' && (out.is_empty() || out.ends_with(' '))) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

fn hex_id(f: &Fields<'_>, name: &str) -> Result<String, WireError> {
    let v = f.required(name)?;
    if v.len() > 40 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return err(name, "must be 1 to 40 hexadecimal characters");
    }
    Ok(v.to_ascii_lowercase())
}

fn email(v: Option<&str>) -> Result<Option<String>, WireError> {
    let Some(v) = v else { return Ok(None) };
    let ok = v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        && v.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok { Ok(Some(v.to_string())) } else { err("email", "is not an email address") }
}

pub fn parse(fields: &[(String, String)]) -> Result<Request, WireError> {
    let f = Fields(fields);
    let account_key = || -> Result<String, WireError> {
        let k = f.required("account_key")?;
        if k.len() > 64 {
            return err("account_key", "at most 64 characters");
        }
        Ok(k.to_string())
    };
    match f.required("action")? {
        "token_create" => {
            let account_key = account_key()?;
            let apikey = f.required("apikey")?.to_string();
            match f.required("for_action")? {
                "lead_submit" => Ok(Request::TokenCreate(TokenCreate { account_key, apikey })),
                _ => err("for_action", "must be lead_submit"),
            }
        }
        "lead_submit" => {
            let account_key = account_key()?;
            let auth = f.required("auth")?.to_string();
            let langcode = match f.get("langcode") {
                None => None,
                Some(l) if l.len() == 3 && l.bytes().all(|b| b.is_ascii_alphabetic()) => Some(l.to_ascii_lowercase()),
                Some(_) => return err("langcode", "must be a 3-letter ISO 639-2 code such as eng"),
            };
            let nps = f.integer("nps")?;
            if nps.is_some_and(|n| !(0..=10).contains(&n)) {
                return err("nps", "must be from 0 to 10");
            }
            let submit = LeadSubmit {
                account_key,
                auth,
                customer_id: hex_id(&f, "customer_id")?,
                interaction_id: hex_id(&f, "interaction_id")?,
                phone_number: f.required("phone_number")?.to_string(),
                service_id: f.integer("service_id")?.map_or_else(|| err("service_id", "is required"), Ok)?,
                service_name: f.text("service_name", 200)?,
                name: f.text("name", 200)?,
                email: email(f.get("email"))?,
                comments: f.text("comments", 2000)?,
                custom_data: f.json("custom_data")?,
                payload: f.json("payload")?,
                langcode,
                location: f.text("location", 200)?,
                kiosk_id: f.integer("kiosk_id")?,
                nps,
                sharecontent_id: f.text("sharecontent_id", 200)?,
            };
            Ok(Request::LeadSubmit(Box::new(submit)))
        }
        _ => err("action", "must be token_create or lead_submit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace('+', " ").replace("%40", "@")))
            .collect()
    }

    #[test]
    fn the_seeds_curl_examples_parse() {
        let t = parse(&form("action=token_create&account_key=mydemo&for_action=lead_submit&apikey=ABC...xyz")).unwrap();
        assert_eq!(t, Request::TokenCreate(TokenCreate { account_key: "mydemo".into(), apikey: "ABC...xyz".into() }));
        // The seed's curl lead_submit omits customer_id and interaction_id,
        // which its own table marks required.
        let e = parse(&form(
            "action=lead_submit&account_key=mydemo&auth=123...def&name=John+Smith&phone_number=15551234\
             &email=john%40example.com&service_id=1&service_name=test",
        ))
        .unwrap_err();
        assert_eq!(e.to_string(), "customer_id: is required");
        let ok = parse(&form(
            "action=lead_submit&account_key=myteam&auth=012...def&name=John+Smith&phone_number=15551234\
             &service_id=1&service_name=Testing+from+web&customer_id=12345678&interaction_id=12345678\
             &email=john%40example.com&langcode=eng&nps=9&payload={\"car\":\"x\"}",
        ))
        .unwrap();
        let Request::LeadSubmit(s) = ok else { panic!() };
        assert_eq!((s.service_id, s.name.as_deref(), s.langcode.as_deref()), (1, Some("John Smith"), Some("eng")));
        assert_eq!(s.payload, Some(serde_json::json!({"car": "x"})));
    }

    #[test]
    fn every_bad_field_is_named() {
        let base =
            "action=lead_submit&account_key=a&auth=t&customer_id=ab&interaction_id=cd&phone_number=1&service_id=1";
        let with = |k: &str, v: &str| {
            let mut f: Vec<(String, String)> = form(base).into_iter().filter(|(n, _)| n != k).collect();
            f.push((k.into(), v.into()));
            f
        };
        for (k, v) in [
            ("interaction_id", "xyz"),
            ("interaction_id", &"a".repeat(41)),
            ("customer_id", ""),
            ("email", "nope"),
            ("langcode", "english"),
            ("nps", "11"),
            ("kiosk_id", "k1"),
            ("custom_data", "{bad"),
            ("service_id", ""),
            ("phone_number", " "),
        ] {
            let e = parse(&with(k, v)).unwrap_err();
            assert_eq!(e.field, k, "{k}={v}: {e}");
        }
        assert!(parse(&with("name", "x")).is_ok());
        assert_eq!(parse(&form("action=nope")).unwrap_err().field, "action");
        assert_eq!(parse(&form("")).unwrap_err().field, "action");
    }

    #[test]
    fn text_is_curated() {
        assert_eq!(curate_text("  John \t\n Smith\u{7}  "), "John Smith");
        assert_eq!(curate_text("\u{0}"), "");
    }
}
