//! `/msp/settings/branding`: the tenant's display name, colours (checked
//! for readable contrast), support contact, sign-in message and images
//! (raster only, size- and type-checked from their bytes).

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::branding::{BrandImage, Colour};
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEvent};
use porta_core::db::branding::{self, Branding, Image};
use porta_core::email::EmailAddress;
use porta_core::locale::Locale;
use sha2::{Digest, Sha256};

use super::BrandView;
use crate::attachments::upload::detect_type;
use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::{SignedIn, Site};
use crate::state::AppState;

pub const PAGE: &str = "/msp/settings/branding";

#[derive(Template)]
#[template(path = "msp/branding.html")]
struct BrandingPage {
    ctx: PageContext,
    branding: Branding,
    view: BrandView,
    kinds: [BrandImage; 3],
    can_update: bool,
    error: Option<String>,
}

impl BrandingPage {
    pub fn locale_chosen(&self, l: &Locale) -> bool {
        self.branding.default_locale == Some(*l)
    }

    pub fn colour(&self, c: &Option<Colour>) -> String {
        c.map(|c| c.to_string()).unwrap_or_default()
    }

    /// The message id of an image's name.
    pub fn label(&self, kind: &BrandImage) -> &'static str {
        match kind {
            BrandImage::LogoLight => "msp-branding-image-logo-light",
            BrandImage::LogoDark => "msp-branding-image-logo-dark",
            BrandImage::Favicon => "msp-branding-image-favicon",
        }
    }

    pub fn url(&self, kind: &BrandImage) -> Option<String> {
        match kind {
            BrandImage::LogoLight => self.view.logo_light.clone(),
            BrandImage::LogoDark => self.view.logo_dark.clone(),
            BrandImage::Favicon => self.view.favicon.clone(),
        }
    }

    pub fn hint(&self, kind: &BrandImage) -> String {
        let types: Vec<&str> = kind
            .allowed_types()
            .iter()
            .map(|t| t.trim_start_matches("image/"))
            .collect();
        format!("{} up to {} KB", types.join(", "), kind.max_bytes() / 1024)
    }
}

async fn page(
    state: &AppState,
    site: &Site,
    ctx: PageContext,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Response, AppError> {
    let branding = branding::get(&state.db, site.tenant.id).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html: Html<String> = render(&BrandingPage {
        ctx,
        view: BrandView::of(&site.tenant.name, &branding),
        branding,
        kinds: BrandImage::ALL,
        can_update: who.can(porta_core::permission::perm::SETTINGS_UPDATE),
        error,
    })?;
    Ok((status, html).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Response, AppError> {
    page(&state, &site, ctx, &who, None).await
}

async fn saved(state: &AppState, site: &Site, who: &SignedIn, what: &str) -> Result<Response, AppError> {
    state.branding.forget(site.tenant.id).await;
    let ip = site.client_ip.to_string();
    audit::record(
        &state.db,
        &AuditEvent {
            tenant: Some(site.tenant.id),
            actor: Some(who.user.id),
            action: "settings.branding",
            outcome: "success",
            subject: Some(what),
            ip: Some(&ip),
            user_agent: site.user_agent.as_deref(),
            detail: None,
        },
        UnixMillis::now(),
    )
    .await?;
    Ok(Redirect::to(&format!("{PAGE}?notice={}", Message::SettingsSaved.code())).into_response())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// The texts and colours of the form, or what is wrong with them.
fn read(form: &[(String, String)], images: Vec<(BrandImage, String)>) -> Result<Branding, String> {
    let colour = |name: &str, label: &str, on_white: bool| -> Result<Option<Colour>, String> {
        match field(form, name) {
            "" => Ok(None),
            raw => {
                let c: Colour = raw.parse().map_err(|e| format!("{label}: {e}."))?;
                let checked = if on_white {
                    c.check_on_white()
                } else {
                    c.check_surface()
                };
                checked.map(Some).map_err(|e| format!("{label}: {e}."))
            }
        }
    };
    let display_name = field(form, "display_name");
    if display_name.chars().count() > 80 {
        return Err("The display name is at most 80 characters.".to_owned());
    }
    let support_email = match field(form, "support_email") {
        "" => String::new(),
        raw => EmailAddress::parse(raw)
            .map_err(|_| "The support email is not an email address.".to_owned())?
            .to_string(),
    };
    let support_phone = crate::profile::page::check_phone(field(form, "support_phone"))
        .map_err(|e| format!("Support phone: {e}"))?;
    let signin_message = field(form, "signin_message");
    if signin_message.chars().count() > 500 {
        return Err("The sign-in message is at most 500 characters.".to_owned());
    }
    let default_locale = match field(form, "default_locale") {
        "" => None,
        tag => Some(
            tag.parse::<Locale>()
                .map_err(|_| "Choose one of the languages offered.".to_owned())?,
        ),
    };
    Ok(Branding {
        display_name: display_name.to_owned(),
        default_locale,
        primary: colour("primary_color", "Primary colour", false)?,
        secondary: colour("secondary_color", "Link colour", true)?,
        support_email,
        support_phone,
        signin_message: signin_message.to_owned(),
        images,
        updated_at: 0,
    })
}

pub async fn save(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let current = branding::get(&state.db, site.tenant.id).await?;
    match read(&form, current.images) {
        Ok(b) => {
            branding::save(&state.db, site.tenant.id, &b, UnixMillis::now()).await?;
            saved(&state, &site, &who, "texts and colours").await
        }
        Err(message) => page(&state, &site, ctx, &who, Some(message)).await,
    }
}

/// One image, from the multipart field `image`.
pub async fn upload_image(
    State(state): State<AppState>,
    site: Site,
    ctx: PageContext,
    who: SignedIn,
    Path(kind): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let kind: BrandImage = kind.parse().map_err(|_| AppError::NotFound)?;
    let mut bytes: Option<Vec<u8>> = None;
    while let Ok(Some(mut part)) = multipart.next_field().await {
        if part.name() != Some("image") {
            continue;
        }
        let mut data = Vec::new();
        loop {
            match part.chunk().await {
                Ok(Some(chunk)) => {
                    if data.len() + chunk.len() > kind.max_bytes() {
                        let message = format!("The image is larger than {} KB.", kind.max_bytes() / 1024);
                        return page(&state, &site, ctx, &who, Some(message)).await;
                    }
                    data.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(_) => {
                    return page(
                        &state,
                        &site,
                        ctx,
                        &who,
                        Some("The upload could not be read.".to_owned()),
                    )
                    .await
                }
            }
        }
        bytes = Some(data);
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return page(&state, &site, ctx, &who, Some("Choose an image.".to_owned())).await;
    };
    let detected = detect_type(&bytes, "");
    if !kind.allowed_types().contains(&detected.as_str()) {
        let message = format!(
            "That file is {detected}; use PNG, JPEG or WebP (PNG or ICO for the favicon). SVG is not accepted because it can carry scripts."
        );
        return page(&state, &site, ctx, &who, Some(message)).await;
    }
    let sha256 = hex(&Sha256::digest(&bytes));
    branding::set_image(
        &state.db,
        site.tenant.id,
        kind,
        &Image {
            content_type: detected,
            bytes,
            sha256,
        },
        UnixMillis::now(),
    )
    .await?;
    saved(&state, &site, &who, kind.as_str()).await
}

pub async fn remove_image(
    State(state): State<AppState>,
    site: Site,
    who: SignedIn,
    Path(kind): Path<String>,
) -> Result<Response, AppError> {
    let kind: BrandImage = kind.parse().map_err(|_| AppError::NotFound)?;
    branding::remove_image(&state.db, site.tenant.id, kind).await?;
    saved(&state, &site, &who, kind.as_str()).await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
