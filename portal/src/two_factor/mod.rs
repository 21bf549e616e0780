//! Two-factor authentication with TOTP (RFC 6238) and recovery codes: the
//! rules both the profile pages ([`pages`]) and the second sign-in step
//! (`auth::second_step`) use.
//!
//! The secret is sealed under the master key with the tenant and user as
//! associated data (a row copied to another user does not open). An
//! enrolment shows the secret as a QR code (SVG made here) and as text,
//! and is enabled only by a correct code; ten recovery codes are shown
//! once and stored hashed. A code is accepted once: its time step must be
//! newer than the last one used ([`porta_core::db::two_factor::use_step`]).

pub mod pages;

use porta_core::clock::UnixMillis;
use porta_core::db::two_factor::{self, TwoFactor};
use porta_core::ids::{TenantId, UserId};
use porta_core::totp::{RecoveryCode, TotpSecret};
use qrcode::render::svg;
use qrcode::QrCode;

use crate::error::AppError;
use crate::state::AppState;

fn aad(tenant: TenantId, user: UserId) -> Vec<u8> {
    format!("totp:{tenant}:{user}").into_bytes()
}

fn open(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    stored: &TwoFactor,
) -> Result<Option<TotpSecret>, AppError> {
    let Some(sealed) = &stored.sealed else {
        return Ok(None);
    };
    let bytes = state
        .master_key
        .open(&sealed.ciphertext, &sealed.nonce, &aad(tenant, user))
        .map_err(AppError::internal)?;
    Ok(Some(TotpSecret::from_bytes(bytes).map_err(AppError::internal)?))
}

/// What an enrolment page shows.
pub struct Enrolment {
    pub base32: String,
    pub uri: String,
    pub qr_svg: String,
}

/// The enrolment in progress (the same secret on every reload), or a new
/// one; `None` when a second factor is already enabled.
pub async fn enrolment(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    issuer: &str,
    account: &str,
) -> Result<Option<Enrolment>, AppError> {
    let stored = two_factor::get(&state.db, tenant, user).await?;
    if stored.enabled() {
        return Ok(None);
    }
    let secret = match open(state, tenant, user, &stored)? {
        Some(pending) => pending,
        None => {
            let fresh = TotpSecret::generate();
            let sealed = state.master_key.seal(fresh.expose(), &aad(tenant, user));
            if !two_factor::begin_enrolment(&state.db, tenant, user, &sealed).await? {
                return Ok(None);
            }
            fresh
        }
    };
    let uri = secret.uri(issuer, account).map_err(AppError::internal)?;
    Ok(Some(Enrolment {
        base32: secret.base32(),
        qr_svg: qr_svg(&uri)?,
        uri,
    }))
}

/// The QR code of `data` as an inline `<svg>` element.
pub fn qr_svg(data: &str) -> Result<String, AppError> {
    let code = QrCode::new(data.as_bytes()).map_err(AppError::internal)?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The XML prolog does not belong inside HTML.
    let start = image.find("<svg").unwrap_or(0);
    Ok(image[start..].replacen(
        "<svg ",
        r#"<svg role="img" aria-label="QR code of your two-factor secret" "#,
        1,
    ))
}

/// Confirms the enrolment in progress with a code from the app; on success
/// the recovery codes to show once.
pub async fn confirm(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    code: &str,
) -> Result<Option<Vec<RecoveryCode>>, AppError> {
    let stored = two_factor::get(&state.db, tenant, user).await?;
    if stored.enabled() {
        return Ok(None);
    }
    let Some(secret) = open(state, tenant, user, &stored)? else {
        return Ok(None);
    };
    let now = UnixMillis::now();
    let Some(step) = secret.matching_step(code, unix_seconds(now)) else {
        return Ok(None);
    };
    let codes = RecoveryCode::generate_set();
    let hashes: Vec<[u8; 32]> = codes.iter().map(RecoveryCode::hash).collect();
    let step = i64::try_from(step).map_err(AppError::internal)?;
    if !two_factor::enable(&state.db, tenant, user, step, &hashes, now).await? {
        return Ok(None);
    }
    Ok(Some(codes))
}

/// What a typed second factor turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A current code, now used.
    Code,
    /// One of the recovery codes, now used.
    RecoveryCode,
    /// A current code that was already used.
    Replayed,
    Wrong,
}

impl Check {
    pub fn passed(self) -> bool {
        matches!(self, Check::Code | Check::RecoveryCode)
    }

    /// For logs and audit rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Code => "totp",
            Check::RecoveryCode => "recovery_code",
            Check::Replayed => "replayed_code",
            Check::Wrong => "wrong_code",
        }
    }
}

fn unix_seconds(now: UnixMillis) -> u64 {
    u64::try_from(now.0 / 1000).unwrap_or(0)
}

/// Checks (and uses up) a code or a recovery code of an enabled factor.
pub async fn check(state: &AppState, tenant: TenantId, user: UserId, typed: &str) -> Result<Check, AppError> {
    let stored = two_factor::get(&state.db, tenant, user).await?;
    if !stored.enabled() || typed.len() > 64 {
        return Ok(Check::Wrong);
    }
    let Some(secret) = open(state, tenant, user, &stored)? else {
        return Ok(Check::Wrong);
    };
    let now = UnixMillis::now();
    if let Some(step) = secret.matching_step(typed, unix_seconds(now)) {
        let step = i64::try_from(step).map_err(AppError::internal)?;
        return Ok(if two_factor::use_step(&state.db, tenant, user, step).await? {
            Check::Code
        } else {
            Check::Replayed
        });
    }
    if let Some(code) = RecoveryCode::parse(typed) {
        if two_factor::use_recovery_code(&state.db, tenant, user, &code.hash(), now).await? {
            return Ok(Check::RecoveryCode);
        }
    }
    Ok(Check::Wrong)
}

/// New recovery codes (the old stop working).
pub async fn replace_recovery_codes(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<RecoveryCode>, AppError> {
    let codes = RecoveryCode::generate_set();
    let hashes: Vec<[u8; 32]> = codes.iter().map(RecoveryCode::hash).collect();
    two_factor::replace_recovery_codes(&state.db, tenant, user, &hashes).await?;
    Ok(codes)
}
