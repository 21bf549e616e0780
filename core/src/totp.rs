//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s steps,
//! what every authenticator app speaks) through `totp-rs`, and recovery
//! codes.
//!
//! [`TotpSecret::matching_step`] says *which* time step a code belongs to
//! (one either side of now is accepted for clock drift), so the caller can
//! refuse any step not newer than the last one used: a code works once.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret as RawSecret, TOTP};

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// Steps either side of now that are accepted.
const SKEW: u64 = 1;
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP shared secret (20 random bytes). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("a TOTP secret must be at least 16 bytes")]
    BadSecret,
    #[error("the issuer and account name must not contain ':'")]
    BadLabel,
}

impl TotpSecret {
    pub fn generate() -> Self {
        let bytes = RawSecret::generate_secret()
            .to_bytes()
            .expect("a generated secret is raw bytes");
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() < 16 {
            return Err(TotpError::BadSecret);
        }
        Ok(Self(bytes))
    }

    /// A secret as apps show it (base32, spaces and case ignored).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let bytes = RawSecret::Encoded(compact)
            .to_bytes()
            .map_err(|_| TotpError::BadSecret)?;
        Self::from_bytes(bytes)
    }

    /// The raw bytes, to seal for storage.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, issuer: &str, account: &str) -> Result<TOTP, TotpError> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            SKEW as u8,
            STEP_SECONDS,
            self.0.clone(),
            Some(issuer.replace(':', " ")),
            account.replace(':', " "),
        )
        .map_err(|_| TotpError::BadLabel)
    }

    /// The secret in base32, for typing into an app by hand.
    pub fn base32(&self) -> String {
        RawSecret::Raw(self.0.clone()).to_encoded().to_string()
    }

    /// The `otpauth://totp/…` URI an app scans.
    pub fn uri(&self, issuer: &str, account: &str) -> Result<String, TotpError> {
        Ok(self.totp(issuer, account)?.get_url())
    }

    /// The code of the step containing `unix_seconds` (tests and tools).
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.totp("x", "x")
            .map(|t| t.generate(unix_seconds))
            .unwrap_or_default()
    }

    /// The step (`unix_seconds / 30`) of the accepted window a well-formed
    /// `code` belongs to, if any.
    pub fn matching_step(&self, code: &str, unix_seconds: u64) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("x", "x").ok()?;
        let now = unix_seconds / STEP_SECONDS;
        let mut found = None;
        // Every candidate is computed and compared in constant time.
        for step in now.saturating_sub(SKEW)..=now + SKEW {
            let expected = totp.generate(step * STEP_SECONDS);
            if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
                found = Some(step);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A recovery code as shown: `xxxxx-xxxxx`, ten characters of a 31-letter
/// alphabet without look-alikes (`i`, `l`, `o`, `0`, `1`): 49 bits.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([redacted])")
    }
}

const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

impl RecoveryCode {
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut chars: Vec<u8> = (0..10)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
            .collect();
        chars.insert(5, b'-');
        Self(String::from_utf8(chars).expect("ASCII"))
    }

    pub fn generate_set() -> Vec<RecoveryCode> {
        (0..RECOVERY_CODES).map(|_| Self::generate()).collect()
    }

    /// What the user typed, normalised (case, spaces and dashes do not
    /// matter); `None` when it cannot be a recovery code.
    pub fn parse(typed: &str) -> Option<Self> {
        let letters: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if letters.len() != 10 || !letters.bytes().all(|b| ALPHABET.contains(&b)) {
            return None;
        }
        Some(Self(format!("{}-{}", &letters[..5], &letters[5..])))
    }

    /// What is stored.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1, truncated to 6 digits.
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1_111_111_109), "081804");
        assert_eq!(secret.code_at(2_000_000_000), "279037");
    }

    #[test]
    fn the_step_of_a_code_is_found_within_one_step() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let step = now / STEP_SECONDS;
        assert_eq!(secret.matching_step(&secret.code_at(now), now), Some(step));
        assert_eq!(
            secret.matching_step(&secret.code_at(now - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            secret.matching_step(&secret.code_at(now + 30), now),
            Some(step + 1)
        );
        assert_eq!(secret.matching_step(&secret.code_at(now - 90), now), None);
        let spaced = format!("{} {}", &secret.code_at(now)[..3], &secret.code_at(now)[3..]);
        assert_eq!(secret.matching_step(&spaced, now), Some(step));
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert_eq!(secret.matching_step(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_hidden_and_render() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.expose().len(), 20);
        assert_eq!(format!("{secret:?}"), "TotpSecret([redacted])");
        assert_eq!(secret.base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&secret.base32().to_lowercase()),
            Ok(secret.clone())
        );
        assert!(TotpSecret::from_base32("not base32!").is_err());
        let uri = secret.uri("Acme IT", "jane@globex.example").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Acme%20IT:jane%40globex.example?secret="),
            "{uri}"
        );
        assert!(TotpSecret::from_bytes(vec![0; 10]).is_err());
    }

    #[test]
    fn recovery_codes_normalise() {
        let code = RecoveryCode::generate();
        assert_eq!(code.expose().len(), 11);
        assert_eq!(
            RecoveryCode::parse(&code.expose().to_uppercase()),
            Some(code.clone())
        );
        assert_eq!(
            RecoveryCode::parse(&code.expose().replace('-', " ")),
            Some(code.clone())
        );
        assert_eq!(RecoveryCode::parse("abc"), None);
        assert_eq!(RecoveryCode::parse("abcde-fghi1"), None);
        assert_eq!(format!("{code:?}"), "RecoveryCode([redacted])");
        let set = RecoveryCode::generate_set();
        assert_eq!(set.len(), 10);
    }
}
