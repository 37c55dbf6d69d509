//! Lists as streams, one page in memory at a time, for both dialects (`mde-api.md`
//! §4.2). MDE documents `$top` up to 10,000 and `$skip`, and sometimes answers with
//! `@odata.nextLink`; Graph pages with `@odata.nextLink`. The pager asks for windows of
//! `$top`/`$skip`, follows any nextLink inside a window, and moves to the next window
//! only when the last one came back full. A nextLink that repeats one already read, or
//! points off the API host, stops the stream with an error rather than loop or hand the
//! token elsewhere.

use super::client::Client;
use super::decode::decode;
use crate::entity::Collection;
use crate::error::ApiError;
use crate::query::Query;
use crate::tenant::Tenant;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

struct Pager {
    client: Client,
    tenant: Tenant,
    path: String,
    /// `$filter`, `$expand`, … without `$top`/`$skip`.
    pairs: Vec<(String, String)>,
    /// Items still wanted (the caller's `$top`), if capped.
    remaining: Option<u64>,
    /// `$skip` of the current window.
    skip: u64,
    /// `$top` of the current window, and items it returned so far.
    window_top: u64,
    window_count: u64,
    next: Option<String>,
    /// Hashes of the URLs read: constant per page, so a loop is seen.
    seen: HashSet<u64>,
    done: bool,
    /// Items asked for per request.
    page_size: u64,
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Pager {
    async fn next_page<T: DeserializeOwned>(mut self) -> Result<Option<(Vec<T>, Self)>, ApiError> {
        loop {
            if self.done || self.remaining == Some(0) {
                return Ok(None);
            }
            let url = match self.next.take() {
                Some(link) => {
                    if !self.client.trusted(&link) {
                        return Err(self.stop(format!(
                            "@odata.nextLink points off the API host ({link}); not sending the token there"
                        )));
                    }
                    link
                }
                None => {
                    let page = self.page_size.max(1);
                    self.window_top = self.remaining.map_or(page, |r| r.min(page));
                    self.window_count = 0;
                    let mut pairs = self.pairs.clone();
                    pairs.push(("$top".to_owned(), self.window_top.to_string()));
                    if self.skip > 0 {
                        pairs.push(("$skip".to_owned(), self.skip.to_string()));
                    }
                    self.client.url(&self.path, &pairs)
                }
            };
            if !self.seen.insert(hash(&url)) {
                return Err(self.stop(format!(
                    "the service sent a link to a page already read ({url}); stopping rather than loop"
                )));
            }
            let bytes = self.client.fetch(&self.tenant, &url).await?;
            let page: Collection<T> = decode(&self.tenant, &url, &bytes)?;
            let n = page.value.len() as u64;
            self.window_count += n;
            let mut items = page.value;
            if let Some(r) = self.remaining.as_mut() {
                items.truncate((*r).min(usize::MAX as u64) as usize);
                *r -= items.len() as u64;
            }
            match page.next_link {
                Some(link) => self.next = Some(link),
                None if n > 0 && self.window_count >= self.window_top => {
                    self.skip += self.window_count;
                }
                None => self.done = true,
            }
            if !items.is_empty() {
                return Ok(Some((items, self)));
            }
        }
    }

    fn stop(&mut self, message: String) -> ApiError {
        self.done = true;
        ApiError::Paging {
            tenant: self.tenant.name.clone(),
            message,
        }
    }
}

/// The largest `$top` a collection takes: 8,000 on `/api/vulnerabilities`, 10,000 on
/// the others (`mde-api.md` §3, get-all-vulnerabilities: "`$top` with max value of
/// 8,000"); more is 400 `ODataError`.
fn max_top(path: &str) -> u64 {
    let p = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    if p.eq_ignore_ascii_case("/api/vulnerabilities") {
        8_000
    } else {
        10_000
    }
}

impl Client {
    /// Every item of a list, as a stream holding one page at a time. `query.top` caps the
    /// items in all; `query.skip` is where to start.
    pub fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        tenant: &Tenant,
        path: &str,
        query: &Query,
    ) -> impl Stream<Item = Result<T, ApiError>> + Send + use<T> {
        let page_size = self.options().page_size.min(max_top(path));
        self.list_paged(tenant, path, query, page_size)
    }

    /// [`Client::list`] asking for at most `page_size` items a request (Graph's incidents
    /// take no more than 50).
    pub fn list_paged<T: DeserializeOwned + Send + 'static>(
        &self,
        tenant: &Tenant,
        path: &str,
        query: &Query,
        page_size: u64,
    ) -> impl Stream<Item = Result<T, ApiError>> + Send + use<T> {
        let mut base = query.clone();
        let (top, skip) = (base.top.take(), base.skip.take());
        let pager = Pager {
            client: self.clone(),
            tenant: tenant.clone(),
            path: path.to_owned(),
            pairs: base.pairs(),
            remaining: top,
            skip: skip.unwrap_or(0),
            window_top: 0,
            window_count: 0,
            next: None,
            seen: HashSet::new(),
            done: false,
            page_size,
        };
        stream::try_unfold(pager, Pager::next_page::<T>)
            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}
