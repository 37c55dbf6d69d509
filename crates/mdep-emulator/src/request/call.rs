//! [`Call`]: what a handler of either API works with — the emulator, the caller the guard
//! authenticated, and where the request came in — with the role check, the caller's
//! tenant data (and no other tenant's), and answers in the API's envelope.

use super::api::Api;
use super::auth::{Caller, caller_data};
use super::envelope::{Req, odata_response};
use super::token::AuthError;
use crate::AppState;
use crate::defender::data::TenantData;
use crate::defender::query::{EntitySet, Page};
use crate::state::defender::DefenderState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

/// One authenticated call of API `A`.
#[derive(Debug)]
pub struct Call<A> {
    /// The emulator.
    pub state: AppState,
    /// Who is calling (set by [`super::guard::guard`]).
    pub caller: Caller,
    /// Where the request came in.
    pub req: Req,
    api: PhantomData<fn() -> A>,
}

impl<A: Api> FromRequestParts<AppState> for Call<A> {
    type Rejection = A::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, A::Error> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(AuthError::Missing)?;
        let Ok(req) = Req::from_request_parts(parts, state).await;
        Ok(Self {
            state: state.clone(),
            caller,
            req,
            api: PhantomData,
        })
    }
}

impl<A: Api> Call<A> {
    /// Passes when the caller holds one of `accepted`; else the API's 403.
    pub fn require(&self, accepted: &[&str]) -> Result<(), A::Error> {
        if self.caller.holds_any(accepted) {
            Ok(())
        } else {
            Err(A::forbidden(accepted, &self.caller.roles))
        }
    }

    /// The caller's tenant's data: the only data this call sees.
    pub fn data(&self) -> Result<Arc<RwLock<TenantData>>, A::Error> {
        Ok(caller_data(&self.state, &self.caller)?)
    }

    /// The Defender half's state: settings and quotas.
    pub fn defender(&self) -> &DefenderState {
        self.state.emu.defender()
    }

    /// Most items on one page of `set`.
    pub fn page_size(&self, set: &EntitySet) -> usize {
        A::page_size(&self.defender().settings(), set)
    }

    /// A JSON answer with the API's headers.
    pub fn json(&self, status: StatusCode, body: &Value) -> Response {
        odata_response(status, body.to_string(), A::JSON)
    }

    /// One entity with its `@odata.context` (`fragment`, e.g. `Alerts/$entity`).
    pub fn entity(&self, status: StatusCode, fragment: &str, v: Value) -> Response {
        self.json(status, &self.req.entity(fragment, v))
    }

    /// 200 with one entity.
    pub fn ok(&self, fragment: &str, v: Value) -> Response {
        self.entity(StatusCode::OK, fragment, v)
    }

    /// 200 with a page of a collection.
    pub fn page(&self, fragment: &str, page: Page) -> Response {
        self.text(
            self.req
                .collection(fragment, &page.items, page.count, page.next.as_deref()),
        )
    }

    /// 200 with a whole collection in one page.
    pub fn all(&self, fragment: &str, items: Vec<Value>) -> Response {
        self.text(self.req.collection(fragment, &items, None, None))
    }

    /// 200 with a JSON document already serialised.
    pub fn text(&self, body: String) -> Response {
        odata_response(StatusCode::OK, body, A::JSON)
    }
}

impl Call<super::mde::Mde> {
    /// Admits a call to an MDE endpoint with a quota of its own (`scope`), besides the
    /// app's: `per_minute` and `per_hour` calls per tenant and app.
    pub fn admit_method(
        &self,
        scope: &'static str,
        per_minute: u32,
        per_hour: u32,
    ) -> Result<(), crate::request::error::MdeError> {
        self.defender().throttle().admit_method(
            self.caller.tenant,
            self.caller.app,
            scope,
            super::throttle::Limits {
                per_minute,
                per_hour,
            },
        )
    }
}
