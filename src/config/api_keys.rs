//! `[api] keys`: each entry a string (a sysadmin key of the default client)
//! or a table `{ key = "...", role = "manager", client = "acme" }`.

use super::ApiKey;
use super::reader::{Reader, kind};
use crate::auth::{DEFAULT_CLIENT, Role};
use crate::ids::ClientId;
use serde_json::Value;

pub(super) fn read(r: &mut Reader<'_, '_>) -> Vec<ApiKey> {
    let items: Vec<Value> = match r.raw("keys") {
        None => {
            r.problem("keys", "is required: a list of bearer keys for the HTTP API");
            return Vec::new();
        }
        Some(Value::Array(items)) => items.clone(),
        // Environment overrides (DIALERD__API__KEYS=a,b) arrive as text.
        Some(Value::String(s)) => s.split(',').map(|k| Value::String(k.trim().to_string())).collect(),
        Some(other) => {
            r.problem("keys", format!("expected a list of keys, found {}", kind(other)));
            return Vec::new();
        }
    };
    if items.is_empty() {
        r.problem("keys", "must hold at least one key");
    }
    let mut out: Vec<ApiKey> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("keys[{i}]");
        let (key, role, client) = match item {
            Value::String(k) => (k.clone(), Role::Sysadmin, DEFAULT_CLIENT.to_string()),
            Value::Object(t) => {
                let text = |name: &str| t.get(name).and_then(Value::as_str).map(str::to_string);
                if let Some(bad) = t.keys().find(|k| !matches!(k.as_str(), "key" | "role" | "client")) {
                    r.problem(&format!("{at}.{bad}"), "unknown key (expected key, role, client)");
                }
                let Some(key) = text("key") else {
                    r.problem(&format!("{at}.key"), "is required");
                    continue;
                };
                let role = match text("role") {
                    None => Role::Sysadmin,
                    Some(s) => match Role::parse(&s) {
                        Some(role) => role,
                        None => {
                            r.problem(&format!("{at}.role"), format!("{s:?} is not one of {}", Role::names()));
                            continue;
                        }
                    },
                };
                let client = text("client").unwrap_or_else(|| DEFAULT_CLIENT.to_string());
                if !crate::ids::valid_name(&client) {
                    r.problem(&format!("{at}.client"), "1 to 64 letters, digits, '-', '_' or '.'");
                }
                (key, role, client)
            }
            other => {
                r.problem(&at, format!("expected a string or a table, found {}", kind(other)));
                continue;
            }
        };
        if key.len() < 8 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            r.problem(&at, "a key needs at least 8 characters and no white space");
        } else if out.iter().any(|k| k.key == key) {
            r.problem(&at, "the same key is listed twice");
        }
        out.push(ApiKey { key, role, client: ClientId(client) });
    }
    out
}
