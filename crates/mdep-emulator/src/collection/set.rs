//! What an entity set declares to be served by [`super::serve`].

use crate::defender::data::TenantData;
use crate::defender::query::{EntitySet, Query};
use crate::request::api::Api;
use crate::request::call::Call;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The error of collection `C`'s API.
pub type Error<C> = <<C as Collection>::Api as Api>::Error;

/// An entity set of one API.
pub trait Collection: Send + Sync + 'static {
    /// The API serving it (its envelope, error body and quotas).
    type Api: Api;
    /// What `$filter`, `$orderby` and `$select` accept, and the largest `$top`.
    const SET: &'static EntitySet;
    /// `@odata.context` of the collection (`Alerts`, `security/alerts_v2`); one entity's
    /// is this with `/$entity`.
    const CONTEXT: &'static str;
    /// The entity's name in a 404 (`Alert`).
    const KIND: &'static str;
    /// Roles that read it (any one).
    const READ: &'static [&'static str];

    /// The entities the caller sees, in listing order, as this API shows them.
    fn items<'a>(call: &Call<Self::Api>, d: &'a TenantData) -> Vec<Cow<'a, Value>>;

    /// The query options of a list or get; by default the OData ones.
    fn query(raw: Option<&str>) -> Result<Query, Error<Self>> {
        Ok(Query::parse(raw, Self::SET)?)
    }

    /// The list document for `q`: the page of matching items, each with `$select`
    /// applied, in the API's envelope.
    fn list(call: &Call<Self::Api>, d: &TenantData, q: &Query) -> String {
        let mut page = q.run(Self::items(call, d).into_iter(), call.page_size(Self::SET));
        page.items = page.items.into_iter().map(|v| q.project(v)).collect();
        call.req.page(Self::CONTEXT, &page)
    }
}

/// An entity set that takes `GET /{set}/{id}`.
pub trait Get: Collection {
    /// The entity `id` as this API shows it; `None` when the tenant has none.
    fn find(call: &Call<Self::Api>, d: &TenantData, id: &str) -> Option<Value>;

    /// Refuses a get of `id` before the data is read (an id that cannot name an
    /// entity, options the entity does not take); by default any id is looked up.
    fn check(_call: &Call<Self::Api>, _id: &str) -> Result<(), Error<Self>> {
        Ok(())
    }
}

/// An entity set that takes `PATCH /{set}/{id}`.
pub trait Patch: Collection {
    /// Roles that update it (any one).
    const WRITE: &'static [&'static str];
    /// An update, checked against the field rules.
    type Change;

    /// Reads an update from a JSON object body, or the API's 400.
    fn change(body: &Map<String, Value>) -> Result<Self::Change, Error<Self>>;

    /// Applies `change` to entity `id` of the caller's tenant (written through to the
    /// store); answers the entity as updated, or the API's 404 or 400.
    fn apply(
        call: &Call<Self::Api>,
        d: &mut TenantData,
        id: &str,
        change: Self::Change,
    ) -> Result<Value, Error<Self>>;
}

/// Declares an entity set: `entity_set! { Name: Api = SET, "Context", "Kind", READ_ROLES;
/// fn items(call, d) { … } }`, then any [`Collection`] methods it overrides. Makes the unit
/// struct `Name` and its [`Collection`] impl.
#[macro_export]
macro_rules! entity_set {
    ($(#[$m:meta])* $name:ident: $api:ty = $set:expr, $ctx:literal, $kind:literal, $read:expr;
     fn items($call:tt, $d:ident) $items:block $($extra:item)*) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;

        impl $crate::collection::set::Collection for $name {
            type Api = $api;
            const SET: &'static $crate::defender::query::EntitySet = $set;
            const CONTEXT: &'static str = $ctx;
            const KIND: &'static str = $kind;
            const READ: &'static [&'static str] = $read;

            fn items<'a>(
                $call: &$crate::request::call::Call<$api>,
                $d: &'a $crate::defender::data::TenantData,
            ) -> Vec<std::borrow::Cow<'a, serde_json::Value>> $items

            $($extra)*
        }
    };
}
