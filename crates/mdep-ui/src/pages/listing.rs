//! The shape both table pages (alerts, devices) share: checked parameters, the tenant
//! list, the filter conditions, then the export, the live fragment or the whole page.

use crate::controls::{Paging, form_end};
use crate::layout::{exports, fragment, frame};
use crate::params::Params;
use crate::queries::{Listing, Page};
use crate::{Ui, UiError};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use mdep_sync::view::Conditions;

/// Every tenant the store knows: `(key, name)`.
type Tenants = [(String, String)];

/// A table page: its names and the pieces that differ from one table to the other.
pub struct TablePage {
    /// The heading and title ("Alerts").
    pub title: &'static str,
    /// Its path ("/alerts"), and the name of its exports ("alerts").
    pub path: &'static str,
    pub name: &'static str,
    /// The id of the element the live refresh replaces.
    pub live: &'static str,
    /// The parameters the page takes.
    pub keys: &'static [&'static str],
    /// The filters, applied to the conditions (given the `(key, name)` of every tenant).
    pub filters: fn(&mut Conditions, &Params, &Tenants) -> Result<(), UiError>,
    /// The query of `mdep db` for the same rows: the export.
    pub export_sql: fn(&mut Conditions) -> String,
    /// The paged listing, in the dialect of `c`.
    pub listing: fn(&Conditions) -> Listing<'static>,
    /// The table of one page.
    pub table: fn(&Params, &Page, &Paging) -> Markup,
    /// The filter controls (given every tenant).
    pub form: fn(&Params, &Tenants) -> Markup,
}

impl TablePage {
    /// Answers a request for this page.
    pub async fn answer(
        &self,
        ui: &Ui,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Response, UiError> {
        let p = Params::parse(query, self.keys)?;
        let tenants = ui.tenant_names().await?;
        let mut c = Conditions::new(ui.pg());
        (self.filters)(&mut c, &p, &tenants)?;
        if let Some(f) = p.format()? {
            let sql = (self.export_sql)(&mut c);
            let rows = ui.select(&sql, &c).await?;
            return Ok(super::export(&rows, f, Some("raw"), self.name));
        }
        let at = Paging::read(&p, 3)?;
        let listing = (self.listing)(&c);
        let rows = ui.page(&listing, c, &at.seek, at.size).await?;
        let table = (self.table)(&p, &rows, &at);
        if fragment(headers) == Some(self.live) {
            return Ok(Html(table.into_string()).into_response());
        }
        let body = html! {
            h1 { (self.title) }
            form class="filters" id={ (self.name) "-filters" } method="get" action=(self.path) {
                ((self.form)(&p, &tenants))
                (form_end(&p, self.path))
            }
            (exports(&p, self.path))
            div id=(self.live) data-live="3000" { (table) }
        };
        Ok(frame(self.title, self.path, body).into_response())
    }
}
