//! `/client-portal/client-settings`: the company's portal defaults: the
//! board and priority of new tickets, and which notifications new users
//! get. Reading needs `settings:read`, changing `settings:update`.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use porta_core::db::catalog::Catalog;
use porta_core::db::clients::{self, ClientProfile};
use porta_core::ids::{BoardId, PriorityId};
use porta_core::locale::Locale;
use porta_core::permission::perm;
use porta_core::ticket::NotificationKind;

use crate::error::AppError;
use crate::page::notice::Message;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

pub const PAGE: &str = "/client-portal/client-settings";

#[derive(Template)]
#[template(path = "client/settings.html")]
struct SettingsPage {
    ctx: PageContext,
    company: ClientProfile,
    catalog: Arc<Catalog>,
    kinds: &'static [NotificationKind],
    can_update: bool,
}

impl SettingsPage {
    pub fn board_chosen(&self, id: &BoardId) -> bool {
        self.company.default_board_id == Some(*id)
    }

    pub fn priority_chosen(&self, id: &PriorityId) -> bool {
        self.company.default_priority_id == Some(*id)
    }

    pub fn locale_chosen(&self, l: &Locale) -> bool {
        self.company.default_locale == l.tag()
    }

    pub fn kind_on(&self, kind: &NotificationKind) -> bool {
        self.company.default_kinds().contains(kind)
    }
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let client = who.user.client_id.ok_or(AppError::WrongUserType)?;
    render(&SettingsPage {
        ctx,
        company: clients::profile(&state.db, tenant, client)
            .await?
            .ok_or(AppError::NotFound)?,
        catalog: state.catalog.get(tenant).await?,
        kinds: NotificationKind::ALL,
        can_update: who.can(perm::SETTINGS_UPDATE),
    })
}

pub async fn save(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tenant = who.user.tenant_id;
    let client = who.user.client_id.ok_or(AppError::WrongUserType)?;
    let catalog = state.catalog.get(tenant).await?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let board = match field("default_board") {
        None => None,
        Some(raw) => Some(raw.parse().ok().filter(|id| catalog.board(*id).is_some()).ok_or(
            AppError::invalid("invalid_board", "Choose one of the boards offered."),
        )?),
    };
    let priority = match field("default_priority") {
        None => None,
        Some(raw) => Some(
            raw.parse()
                .ok()
                .filter(|id| catalog.priority(*id).is_some())
                .ok_or(AppError::invalid(
                    "invalid_priority",
                    "Choose one of the priorities offered.",
                ))?,
        ),
    };
    let on: Vec<NotificationKind> = NotificationKind::ALL
        .iter()
        .copied()
        .filter(|k| form.iter().any(|(name, v)| name == "notify" && v == k.as_str()))
        .collect();
    let locale = match field("default_locale") {
        None => None,
        Some(tag) => Some(
            tag.parse::<Locale>()
                .map_err(|_| AppError::invalid("invalid_language", "Choose one of the languages offered."))?,
        ),
    };
    clients::update_settings(&state.db, tenant, client, board, priority, &on).await?;
    clients::set_default_locale(&state.db, tenant, client, locale).await?;
    Ok(Redirect::to(&format!("{PAGE}?notice={}", Message::SettingsSaved.code())).into_response())
}
