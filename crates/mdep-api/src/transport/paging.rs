//! Lists as streams, one page in memory at a time, for both dialects (`mde-api.md`
//! §4.2). MDE documents `$top` up to 10,000 and `$skip`, and sometimes answers with
//! `@odata.nextLink`; Graph pages with `@odata.nextLink`. The pager asks for windows of
//! `$top`/`$skip`, follows any nextLink inside a window, and moves to the next window
//! only when the last one came back full. A nextLink that repeats one already read, or
//! points off the API host, stops the stream with an error rather than loop or hand the
//! token elsewhere.

use super::client::Client;
use super::page::{PageReader, Step};
use crate::error::ApiError;
use crate::query::Query;
use crate::tenant::Tenant;
use futures_util::{Stream, StreamExt, stream};
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
    /// The page being read, if any.
    open: Option<OpenPage>,
}

/// A page whose body is being read.
struct OpenPage {
    url: String,
    resp: reqwest::Response,
    reader: PageReader,
    /// Items of this page handed out so far.
    handed: u64,
    /// Items to pass over: those handed out before the body was cut short and the page
    /// fetched again.
    pass_over: u64,
    /// Times the body was cut short.
    failures: u32,
}

/// Unread bytes gathered before the reader tries again after running short: an item
/// cut by a chunk's end is parsed twice, so parse only once this much has come in.
const LOW_WATER: usize = 64 * 1024;

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Pager {
    /// The URL of the next page, or `None` when the list is read.
    fn next_url(&mut self) -> Result<Option<String>, ApiError> {
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
        Ok(Some(url))
    }

    /// The next item of the list, reading pages as they arrive.
    async fn next_item<T: DeserializeOwned>(mut self) -> Result<Option<(T, Self)>, ApiError> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            let Some(page) = self.open.as_mut() else {
                let Some(url) = self.next_url()? else {
                    return Ok(None);
                };
                let resp = self.client.fetch_open(&self.tenant, &url).await?;
                self.open = Some(OpenPage {
                    url,
                    resp,
                    reader: PageReader::new(),
                    handed: 0,
                    pass_over: 0,
                    failures: 0,
                });
                continue;
            };
            match page.reader.next::<T>() {
                Ok(Step::Item(item)) => {
                    if page.pass_over > 0 {
                        page.pass_over -= 1;
                        continue;
                    }
                    page.handed += 1;
                    self.window_count += 1;
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                    return Ok(Some((item, self)));
                }
                Ok(Step::NeedMore) => self.read_more().await?,
                Ok(Step::End) => {
                    let Some(mut page) = self.open.take() else {
                        continue;
                    };
                    match page.reader.take_next_link() {
                        Some(link) => self.next = Some(link),
                        None if page.handed > 0 && self.window_count >= self.window_top => {
                            self.skip += self.window_count;
                        }
                        None => self.done = true,
                    }
                }
                Err(message) => {
                    self.done = true;
                    let url = self.open.take().map(|p| p.url).unwrap_or_default();
                    return Err(ApiError::Decode {
                        tenant: self.tenant.name.clone(),
                        url,
                        message,
                    });
                }
            }
        }
    }

    /// More of the open page's body: at least [`LOW_WATER`] bytes, or up to its end.
    /// A body cut short is fetched again (a GET changes nothing), its items already
    /// handed out passed over, within the retry policy's attempts.
    async fn read_more(&mut self) -> Result<(), ApiError> {
        let Some(page) = self.open.as_mut() else {
            return Ok(());
        };
        let mut gathered = 0;
        while gathered < LOW_WATER {
            match page.resp.chunk().await {
                Ok(Some(chunk)) => {
                    gathered += chunk.len();
                    page.reader.push(&chunk);
                }
                Ok(None) => {
                    page.reader.finish();
                    return Ok(());
                }
                Err(e) => {
                    let policy = self.client.retry_policy();
                    page.failures += 1;
                    let message = format!(
                        "connection dropped reading the answer: {}",
                        super::client::describe(&e)
                    );
                    if page.failures >= policy.max_attempts {
                        self.done = true;
                        return Err(ApiError::Unavailable {
                            tenant: self.tenant.name.clone(),
                            message,
                            attempts: page.failures,
                        });
                    }
                    tracing::info!(tenant = %self.tenant.name, %message, "reading the page again");
                    self.client.count_retry();
                    tokio::time::sleep(policy.backoff(page.failures)).await;
                    page.resp = self.client.fetch_open(&self.tenant, &page.url).await?;
                    page.reader = PageReader::new();
                    // The items handed out stay counted; their copies in the
                    // page read again are passed over.
                    page.pass_over = page.handed;
                    return Ok(());
                }
            }
        }
        Ok(())
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
            open: None,
        };
        stream::try_unfold(pager, Pager::next_item::<T>).boxed()
    }
}
