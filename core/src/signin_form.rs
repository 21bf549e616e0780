//! The body of a password sign-in form (client and staff alike), as the
//! browser posts it (`application/x-www-form-urlencoded`). Fields it does
//! not know (the CSRF token) are ignored; missing ones are empty.

use std::fmt;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
    /// The binding hash of a handoff started on the custom domain.
    pub handoff: Option<String>,
}

/// A body that is no form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sign-in form: {0}")]
pub struct InvalidSigninForm(String);

impl SigninForm {
    /// Parses a form body (the portal's handler gets the same through
    /// axum's `Form`, which uses the same decoder).
    pub fn parse(body: &[u8]) -> Result<SigninForm, InvalidSigninForm> {
        serde_urlencoded::from_bytes(body).map_err(|e| InvalidSigninForm(e.to_string()))
    }
}

impl fmt::Debug for SigninForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigninForm")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .field("next", &self.next)
            .field("handoff", &self.handoff)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_ignores_others() {
        let form = SigninForm::parse(b"email=a%40b.test&password=p+w%26&csrf_token=x&next=%2Fclient-portal")
            .unwrap();
        assert_eq!(form.email, "a@b.test");
        assert_eq!(form.password, "p w&");
        assert_eq!(form.next.as_deref(), Some("/client-portal"));
        assert_eq!(form.handoff, None);
        let empty = SigninForm::parse(b"").unwrap();
        assert_eq!((empty.email.as_str(), empty.password.as_str()), ("", ""));
        assert!(!format!("{form:?}").contains("p w&"));
    }
}
