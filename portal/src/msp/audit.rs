//! `/msp/audit`: the tenant's audit log for staff who may read it, with
//! filters (who, what kind, which days in the reader's time zone) and the
//! same rows as CSV (`/msp/audit.csv`, every matching row up to a cap).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use porta_core::clock::UnixMillis;
use porta_core::db::audit::{self, AuditEntry, AuditFilter};
use porta_core::db::users::{self, UserProfile};
use porta_core::ids::UserId;
use serde::Deserialize;

use crate::error::AppError;
use crate::page::{render, PageContext};
use crate::request::SignedIn;
use crate::state::AppState;

const PAGE_SIZE: i64 = 50;
/// The most rows one export holds.
const EXPORT_LIMIT: i64 = 50_000;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl AuditQuery {
    /// The filter, and a message for each part that made no sense (ignored).
    fn filter(&self, ctx: &PageContext) -> (AuditFilter, Vec<&'static str>) {
        let mut problems = Vec::new();
        let actor = match self.user.trim() {
            "" => None,
            raw => match raw.parse::<UserId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    problems.push("That user is not known; showing everyone.");
                    None
                }
            },
        };
        let day = |raw: &str, end: bool, problems: &mut Vec<&'static str>| match raw.trim() {
            "" => None,
            text => {
                let at = if end {
                    ctx.zone.end_of_day(text)
                } else {
                    ctx.zone.start_of_day(text)
                };
                if at.is_none() {
                    problems.push("Dates are written 2026-11-29.");
                }
                at.map(UnixMillis)
            }
        };
        let from = day(&self.from, false, &mut problems);
        let until = day(&self.to, true, &mut problems);
        let kind = Some(self.kind.trim())
            .filter(|k| {
                !k.is_empty()
                    && k.len() <= 64
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            })
            .map(str::to_owned);
        (
            AuditFilter {
                actor,
                kind,
                from,
                until,
            },
            problems,
        )
    }

    /// The query string of this filter (for links), without the page.
    fn query_string(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", &self.user),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "msp/audit.html")]
struct AuditPage {
    ctx: PageContext,
    entries: Vec<AuditEntry>,
    people: Vec<UserProfile>,
    kinds: Vec<String>,
    query: AuditQuery,
    problems: Vec<&'static str>,
    export: String,
    previous: Option<String>,
    next: Option<String>,
    page: i64,
}

impl AuditPage {
    pub fn who(&self, e: &AuditEntry) -> String {
        match (&e.actor_name, &e.actor_email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            _ => "—".to_owned(),
        }
    }

    pub fn detail_text(&self, e: &AuditEntry) -> String {
        detail_text(e)
    }
}

/// The detail object as `key: value` pairs (nulls left out).
fn detail_text(e: &AuditEntry) -> String {
    let Some(raw) = &e.detail else {
        return String::new();
    };
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => raw.clone(),
    }
}

/// The groups of actions (`signin`, `2fa`, …) and the actions themselves.
fn kinds(actions: Vec<String>) -> Vec<String> {
    let mut kinds: Vec<String> = actions
        .iter()
        .filter_map(|a| a.split_once('.').map(|(group, _)| group.to_owned()))
        .chain(actions.iter().cloned())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    let tenant = who.user.tenant_id;
    let (filter, problems) = query.filter(&ctx);
    let page = query.page.unwrap_or(1).clamp(1, 10_000);
    let mut entries =
        audit::search(&state.db, tenant, &filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let base = query.query_string();
    let link = |p: i64| {
        if base.is_empty() {
            format!("/msp/audit?page={p}")
        } else {
            format!("/msp/audit?{base}&page={p}")
        }
    };
    render(&AuditPage {
        previous: (page > 1).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
        export: if base.is_empty() {
            "/msp/audit.csv".to_owned()
        } else {
            format!("/msp/audit.csv?{base}")
        },
        people: users::list(&state.db, tenant).await?,
        kinds: kinds(audit::actions(&state.db, tenant).await?),
        ctx,
        entries,
        query,
        problems,
        page,
    })
}

/// A cell as spreadsheets should read it: text that starts like a formula
/// is prefixed with `'` (CSV injection).
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

pub async fn export(
    State(state): State<AppState>,
    ctx: PageContext,
    who: SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let (filter, _) = query.filter(&ctx);
    let entries = audit::search(&state.db, who.user.tenant_id, &filter, EXPORT_LIMIT, 0).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "time_utc",
        "actor_email",
        "actor_name",
        "action",
        "outcome",
        "subject",
        "ip",
        "user_agent",
        "detail",
    ])
    .map_err(AppError::internal)?;
    for e in &entries {
        let time = jiff::Timestamp::from_millisecond(e.created_at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        out.write_record([
            time,
            cell(e.actor_email.as_deref().unwrap_or_default()),
            cell(e.actor_name.as_deref().unwrap_or_default()),
            cell(&e.action),
            cell(&e.outcome),
            cell(e.subject.as_deref().unwrap_or_default()),
            cell(e.ip.as_deref().unwrap_or_default()),
            cell(e.user_agent.as_deref().unwrap_or_default()),
            cell(&detail_text(e)),
        ])
        .map_err(AppError::internal)?;
    }
    let body = out.into_inner().map_err(|e| AppError::internal(e.into_error()))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_include_their_groups() {
        let k = kinds(vec!["2fa.enable".into(), "2fa.reset".into(), "signin".into()]);
        assert_eq!(k, ["2fa", "2fa.enable", "2fa.reset", "signin"]);
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("jane@globex.example"), "jane@globex.example");
    }
}
