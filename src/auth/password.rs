//! Password hashing with argon2id (PHC strings carry their own salt and
//! parameters, so parameters can be raised later without a migration).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

pub fn hash(password: &str) -> Result<String, HashError> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| HashError(e.to_string()))
}

/// False for a wrong password and for a stored hash that does not parse.
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), stored).is_ok()
}

/// A valid hash of no one's password, verified against when a user name
/// is unknown so that the answer takes as long as for a known one.
pub fn nobody() -> &'static str {
    static NOBODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NOBODY.get_or_init(|| hash(&crate::auth::new_session_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_then_verify() {
        let h = super::hash("s3cret pass").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("s3cret pass", &h));
        assert!(!super::verify("s3cret pasS", &h));
        assert!(!super::verify("s3cret pass", "not a hash"));
    }
}
