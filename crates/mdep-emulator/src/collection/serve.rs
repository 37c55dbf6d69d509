//! The handlers of any [`Collection`]: list, get by id and PATCH, each behind the
//! collection's role check, over the caller's tenant only, answered in the API's
//! envelope.

use super::set::{Collection, Error, Get, Patch};
use crate::defender::data::{read, write};
use crate::request::api::Api;
use crate::request::call::Call;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;

/// The `@odata.context` fragment of one entity of `C`.
pub fn entity_context<C: Collection>() -> String {
    format!("{}/$entity", C::CONTEXT)
}

/// `GET /{set}`.
pub async fn list<C: Collection>(call: Call<C::Api>) -> Result<Response, Error<C>> {
    call.require(C::READ)?;
    let q = C::query(call.req.query.as_deref())?;
    let data = call.data()?;
    let body = C::list(&call, &read(&data), &q);
    Ok(call.text(body))
}

/// `GET /{set}/{id}`.
pub async fn get_one<C: Get>(
    call: Call<C::Api>,
    Path(id): Path<String>,
) -> Result<Response, Error<C>> {
    call.require(C::READ)?;
    C::check(&call, &id)?;
    let data = call.data()?;
    let v = C::find(&call, &read(&data), &id)
        .ok_or_else(|| <C::Api as Api>::not_found(C::KIND, &id))?;
    Ok(call.ok(&entity_context::<C>(), v))
}

/// `PATCH /{set}/{id}`: answers the updated entity.
pub async fn update<C: Patch>(
    call: Call<C::Api>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error<C>> {
    call.require(C::WRITE)?;
    let body = <C::Api as Api>::body_object(&body)?;
    let change = C::change(&body)?;
    let data = call.data()?;
    let v = C::apply(&call, &mut write(&data), &id, change)?;
    Ok(call.ok(&entity_context::<C>(), v))
}
