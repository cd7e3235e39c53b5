//! Who is calling the API: roles, principals (an API key's or a session's),
//! password hashing (argon2) and session tokens. Permission checks are
//! methods on [`Principal`], so every route asks the same question the
//! same way.

pub mod password;

use crate::ids::ClientId;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Seed 002's user roles, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Sysadmin,
    Superuser,
    Manager,
    Agent,
    Readonly,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Sysadmin, Role::Superuser, Role::Manager, Role::Agent, Role::Readonly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sysadmin => "sysadmin",
            Role::Superuser => "superuser",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Readonly => "readonly",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn names() -> String {
        Self::ALL.map(Role::as_str).join(", ")
    }
}

/// What a permission check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// GET anything of the client.
    Read,
    /// Place and end single calls.
    Call,
    /// Create and steer campaigns, append records, manage DNC and services.
    Manage,
    /// Reload dialplans, manage the global DNC list.
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Call => "call",
            Permission::Manage => "manage",
            Permission::Admin => "admin",
        }
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client: ClientId,
    pub role: Role,
    /// The user name of a session; `None` for API keys.
    pub user: Option<String>,
}

impl Principal {
    pub fn may(&self, p: Permission) -> bool {
        use Role::*;
        match p {
            Permission::Read => true,
            Permission::Call => matches!(self.role, Sysadmin | Superuser | Manager | Agent),
            Permission::Manage => matches!(self.role, Sysadmin | Superuser | Manager),
            Permission::Admin => matches!(self.role, Sysadmin | Superuser),
        }
    }
}

/// The client that plain-string API keys and single-tenant installs use.
pub const DEFAULT_CLIENT: &str = "default";

/// A new session id: 256 random bits, hex.
pub fn new_session_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sessions are stored by this hash, never by the token itself.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares secrets without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_permissions() {
        let p = |role| Principal { client: ClientId("c".into()), role, user: None };
        assert!(p(Role::Manager).may(Permission::Manage));
        assert!(!p(Role::Agent).may(Permission::Manage));
        assert!(p(Role::Agent).may(Permission::Call));
        assert!(!p(Role::Readonly).may(Permission::Call));
        assert!(p(Role::Readonly).may(Permission::Read));
        assert!(!p(Role::Manager).may(Permission::Admin));
        assert_eq!(Role::parse("SuperUser"), Some(Role::Superuser));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_session_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_session_token());
        assert_eq!(token_hash(&a), token_hash(&a));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
