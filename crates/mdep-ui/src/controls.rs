//! What the table pages share: their filter controls, the paging a request asks for, the
//! count line above a table and the links around it.

use crate::UiError;
use crate::layout::count;
use crate::params::{Params, cursor};
use crate::queries::{Page, Seek};
use maud::{Markup, html};

/// The paging a request asks for: rows a page (`size`, 10–1,000, 100 by default), where
/// it starts (`after` / `before` a position the page wrote), the first row's number.
pub struct Paging {
    pub size: u64,
    pub seek: Seek,
    pub pos: u64,
}

impl Paging {
    /// Reads `size`, `after`, `before` and `pos` (keys of `parts` parts each).
    pub fn read(p: &Params, parts: usize) -> Result<Self, UiError> {
        let seek = match (p.cursor("after", parts)?, p.cursor("before", parts)?) {
            (Some(k), _) => Seek::After(k),
            (None, Some(k)) => Seek::Before(k),
            (None, None) => Seek::First,
        };
        Ok(Self {
            size: p.number("size", 10, 1000)?.unwrap_or(100),
            seek,
            pos: p.number("pos", 0, u64::MAX)?.unwrap_or(0),
        })
    }
}

/// "Alerts 1–100 of 100,000 matching", or that none match.
pub fn summary(noun: &str, page: &Page, at: &Paging) -> Markup {
    let shown = page.rows.rows.len() as u64;
    html! {
        p id="summary" {
            @if shown == 0 { "No " (noun.to_lowercase()) " match." }
            @else { (noun) " " (count(at.pos + 1)) "–" (count(at.pos + shown)) " of " span id="total" { (count(page.total)) } " matching" }
        }
    }
}

/// Previous / next links around a page.
pub fn pager(p: &Params, page: &Page, at: &Paging, path: &str) -> Markup {
    let shown = page.rows.rows.len() as u64;
    let prev_pos = at.pos.saturating_sub(at.size).to_string();
    let next_pos = (at.pos + shown).to_string();
    html! {
        nav class="pager" aria-label="Pages" {
            @if let Some(k) = &page.prev {
                a rel="prev" id="page-prev" href={ (path) (p.with(&[("before", Some(&cursor(k))), ("after", None), ("pos", Some(&prev_pos))])) } { "← Previous" }
            }
            @if let Some(k) = &page.next {
                a rel="next" id="page-next" href={ (path) (p.with(&[("after", Some(&cursor(k))), ("before", None), ("pos", Some(&next_pos))])) } { "Next →" }
            }
        }
    }
}

/// The tenant filter: one of `tenants` `(key, name)`, chosen by key or name.
pub fn tenant_select(tenants: &[(String, String)], chosen: &[String]) -> Markup {
    html! {
        label { "Tenant"
            select name="tenant" {
                option value="" { "all" }
                @for (key, name) in tenants {
                    option value=(key) selected[chosen.iter().any(|c| c.eq_ignore_ascii_case(key) || c.eq_ignore_ascii_case(name))] { (name) }
                }
            }
        }
    }
}

/// A filter of several of `values`, those in `p`'s `name` selected.
pub fn multi_select(p: &Params, label: &str, name: &str, values: &[&str]) -> Markup {
    let chosen = p.all(name);
    html! {
        label { (label)
            select name=(name) multiple {
                @for v in values { option value=(v) selected[chosen.iter().any(|x| x.eq_ignore_ascii_case(v))] { (v) } }
            }
        }
    }
}

/// The tag filter: any, or one of `tags`.
pub fn tag_select(tags: &std::collections::BTreeSet<String>, chosen: Option<&str>) -> Markup {
    html! {
        label { "Tag"
            select name="tag" {
                option value="" { "any" }
                @for t in tags {
                    option value=(t) selected[chosen == Some(t.to_lowercase().as_str())] { (t) }
                }
            }
        }
    }
}

/// The end of a filter form: the tag carried over, the button, and a reset link.
pub fn form_end(p: &Params, path: &str) -> Markup {
    html! {
        @if let Some(g) = p.one("tag") { input type="hidden" name="tag" value=(g); }
        button type="submit" { "Filter" }
        a href=(path) { "Clear" }
    }
}
