//! Password hashing: argon2id with OWASP's recommended parameters
//! (19 MiB, 2 passes, 1 lane). Both operations are deliberately slow, so the
//! async wrappers run them on tokio's blocking pool.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_LEN} characters")]
    TooLong,
    /// Too easy to guess: what the estimator says, for the person.
    #[error("password is too easy to guess{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    Weak { hint: Option<String> },
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed")]
    Task,
}

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the length policy.
pub fn check_policy(password: &Secret) -> Result<(), PasswordError> {
    let len = password.expose().chars().count();
    if len < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Checks a new password against the length policy and the strength
/// estimator (zxcvbn): its score (0-4) must reach `min_score`, judged
/// knowing `user_inputs` (the person's email and name), so `jane.doe2026`
/// is weak for Jane Doe.
pub fn check_strength(password: &Secret, user_inputs: &[&str], min_score: u8) -> Result<(), PasswordError> {
    check_policy(password)?;
    // The estimator matches whole inputs: give it the words too, and the
    // words run together (`jane.doe@x` also means `jane`, `doe`, `janedoe`).
    let mut inputs: Vec<String> = Vec::new();
    for input in user_inputs {
        let lower = input.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .collect();
        inputs.push(words.concat());
        inputs.extend(words.iter().map(|w| (*w).to_owned()));
        inputs.push(lower.clone());
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password.expose(), &inputs);
    if (estimate.score() as u8) >= min_score {
        return Ok(());
    }
    let hint = estimate.feedback().and_then(|f| {
        f.warning()
            .map(|w| w.to_string())
            .or_else(|| f.suggestions().first().map(|s| s.to_string()))
    });
    Err(PasswordError::Weak { hint })
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &Secret) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A hash of a random password, verified against when the user does not
/// exist so that an unknown email costs as much as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = SaltString::generate(&mut OsRng);
        hash(&Secret::new(random.as_str())).unwrap_or_default()
    })
}

/// Verifies `password` against `stored`, or against a dummy hash when there
/// is no stored hash; only a real match returns true.
pub fn verify(stored: Option<&str>, password: &Secret) -> bool {
    let candidate = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(candidate) else {
        return false;
    };
    let matched = argon2()
        .verify_password(password.expose().as_bytes(), &parsed)
        .is_ok();
    matched && stored.is_some()
}

/// [`hash`] on the blocking pool.
pub async fn hash_blocking(password: Secret) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|_| PasswordError::Task)?
}

/// [`verify`] on the blocking pool.
pub async fn verify_blocking(stored: Option<String>, password: Secret) -> bool {
    tokio::task::spawn_blocking(move || verify(stored.as_deref(), &password))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_password() {
        let stored = hash(&Secret::new("correct horse battery")).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(Some(&stored), &Secret::new("correct horse battery")));
        assert!(!verify(Some(&stored), &Secret::new("Correct horse battery")));
        assert!(!verify(None, &Secret::new("correct horse battery")));
        assert!(!verify(Some("not a hash"), &Secret::new("x")));
    }

    #[test]
    fn policy_bounds_length() {
        assert!(matches!(
            check_policy(&Secret::new("short")),
            Err(PasswordError::TooShort)
        ));
        assert!(check_policy(&Secret::new("long enough!")).is_ok());
        assert!(matches!(
            check_policy(&Secret::new("x".repeat(MAX_LEN + 1))),
            Err(PasswordError::TooLong)
        ));
    }

    #[test]
    fn weak_passwords_are_refused_with_a_hint() {
        let inputs = ["jane.doe@globex.example", "Jane Doe"];
        assert!(check_strength(&Secret::new("correct horse battery staple"), &inputs, 3).is_ok());
        assert!(matches!(
            check_strength(&Secret::new("password123"), &inputs, 3),
            Err(PasswordError::Weak { .. })
        ));
        assert!(matches!(
            check_strength(&Secret::new("janedoe2026!"), &inputs, 3),
            Err(PasswordError::Weak { .. })
        ));
        assert!(matches!(
            check_strength(&Secret::new("short"), &inputs, 0),
            Err(PasswordError::TooShort)
        ));
        let hint = check_strength(&Secret::new("aaaaaaaaaaaa"), &inputs, 3)
            .unwrap_err()
            .to_string();
        assert!(hint.starts_with("password is too easy to guess"), "{hint}");
    }
}
