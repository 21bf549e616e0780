//! The query string of a ticket list (`?state=open&priority=…&q=…&page=2`)
//! as a [`TicketFilter`], and back: paging links keep every filter. Values
//! that do not parse are ignored, never an error: a stale bookmark still
//! shows a list.

use porta_core::db::tickets::{AssigneeFilter, Page, StateFilter, TicketFilter};
use serde::Deserialize;

/// Tickets per page.
pub const PAGE_SIZE: u32 = 10;

/// The raw query.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    /// `all`, `open`, `closed`, or a status id.
    pub state: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    pub page: Option<String>,
    /// Staff: a client id.
    pub client: Option<String>,
    /// Staff: `none` or a user id.
    pub assignee: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// The filter the query asks for.
    pub fn filter(&self) -> TicketFilter {
        let state = match non_empty(&self.state) {
            None | Some("all") => StateFilter::All,
            Some("open") => StateFilter::Open,
            Some("closed") => StateFilter::Closed,
            Some(id) => id.parse().map(StateFilter::Status).unwrap_or(StateFilter::All),
        };
        TicketFilter {
            state,
            priority: non_empty(&self.priority).and_then(|p| p.parse().ok()),
            category: non_empty(&self.category).and_then(|c| c.parse().ok()),
            text: non_empty(&self.q).map(|q| q.chars().take(200).collect()),
            client: non_empty(&self.client).and_then(|c| c.parse().ok()),
            assignee: match non_empty(&self.assignee) {
                Some("none") => Some(AssigneeFilter::Unassigned),
                Some(id) => id.parse().ok().map(AssigneeFilter::User),
                None => None,
            },
        }
    }

    pub fn page(&self) -> Page {
        let number = non_empty(&self.page)
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .unwrap_or(1);
        Page {
            number,
            size: PAGE_SIZE,
        }
    }

    /// Whether the form's `field` holds `value` (to mark a choice selected).
    pub fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "state" => &self.state,
            "priority" => &self.priority,
            "category" => &self.category,
            "client" => &self.client,
            "assignee" => &self.assignee,
            _ => return false,
        };
        non_empty(current) == Some(value)
    }

    /// The text searched for, for the search box.
    pub fn text(&self) -> &str {
        non_empty(&self.q).unwrap_or("")
    }

    /// Whether any filter is set (the list then offers to clear them).
    pub fn is_filtered(&self) -> bool {
        !self.with_page(1).is_empty()
    }

    /// This query's filters with `page`, as a query string (`state=open&page=2`).
    pub fn with_page(&self, page: u32) -> String {
        let filter = self.filter();
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        match filter.state {
            StateFilter::All => {}
            StateFilter::Open => {
                q.append_pair("state", "open");
            }
            StateFilter::Closed => {
                q.append_pair("state", "closed");
            }
            StateFilter::Status(id) => {
                q.append_pair("state", &id.to_string());
            }
        }
        if let Some(p) = filter.priority {
            q.append_pair("priority", &p.to_string());
        }
        if let Some(c) = filter.category {
            q.append_pair("category", &c.to_string());
        }
        if let Some(text) = &filter.text {
            q.append_pair("q", text);
        }
        if let Some(c) = filter.client {
            q.append_pair("client", &c.to_string());
        }
        match filter.assignee {
            Some(AssigneeFilter::Unassigned) => {
                q.append_pair("assignee", "none");
            }
            Some(AssigneeFilter::User(u)) => {
                q.append_pair("assignee", &u.to_string());
            }
            None => {}
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        q.finish()
    }
}

/// The staff queue's extra choices: client and assignee.
#[derive(Debug, Clone)]
pub struct StaffFilters {
    pub clients: Vec<porta_core::db::clients::Client>,
    pub staff: Vec<porta_core::db::users::UserProfile>,
}

/// Links of a paged list.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// "Showing 11–20 of 26".
    pub first_shown: i64,
    pub last_shown: i64,
    /// What the list says when it is empty ("No tickets").
    pub empty: &'static str,
}

impl Pager {
    pub fn new(path: &str, query: &ListQuery, total: i64) -> Pager {
        Pager::of(
            query.page().number,
            total,
            i64::from(PAGE_SIZE),
            "No tickets",
            |p| {
                let q = query.with_page(p);
                if q.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{q}")
                }
            },
        )
    }

    /// Page `page` of `total` items, `size` a page, linked by `link(page)`.
    pub fn of(page: u32, total: i64, size: i64, empty: &'static str, link: impl Fn(u32) -> String) -> Pager {
        let pages = u32::try_from(((total + size - 1) / size).max(1)).unwrap_or(u32::MAX);
        let page = page.max(1);
        let first_shown = if total == 0 {
            0
        } else {
            i64::from(page - 1) * size + 1
        };
        Pager {
            page,
            pages,
            total,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            first_shown,
            last_shown: (i64::from(page) * size).min(total),
            empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> ListQuery {
        let text = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        serde_urlencoded_like(&text)
    }

    fn serde_urlencoded_like(text: &str) -> ListQuery {
        let mut query = ListQuery::default();
        for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "state" => query.state = v,
                "priority" => query.priority = v,
                "q" => query.q = v,
                "page" => query.page = v,
                _ => {}
            }
        }
        query
    }

    #[test]
    fn paging_links_keep_the_filters() {
        let query = q(&[("state", "open"), ("q", "printer & fax"), ("page", "2")]);
        let pager = Pager::new("/client-portal/tickets", &query, 26);
        assert_eq!((pager.page, pager.pages), (2, 3));
        assert_eq!(
            pager.previous.as_deref(),
            Some("/client-portal/tickets?state=open&q=printer+%26+fax")
        );
        assert_eq!(
            pager.next.as_deref(),
            Some("/client-portal/tickets?state=open&q=printer+%26+fax&page=3")
        );
        assert_eq!((pager.first_shown, pager.last_shown), (11, 20));
    }

    #[test]
    fn junk_is_ignored() {
        let query = q(&[("state", "<script>"), ("priority", "x"), ("page", "-3")]);
        assert_eq!(query.filter(), TicketFilter::default());
        assert_eq!(query.page().number, 1);
        let empty = Pager::new("/t", &ListQuery::default(), 0);
        assert_eq!((empty.pages, empty.first_shown, empty.last_shown), (1, 0, 0));
        assert!(empty.next.is_none() && empty.previous.is_none());
    }
}
