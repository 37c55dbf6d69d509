//! Request bodies read by field rules: which properties a body may hold, and each
//! property's type (a string, one of an enum's values), refused in the API's words.

use crate::request::api::Api;
use serde_json::{Map, Value};
use std::marker::PhantomData;

/// A JSON object body of API `A` whose properties passed the updatable check.
#[derive(Debug)]
pub struct Fields<'a, A> {
    body: &'a Map<String, Value>,
    api: PhantomData<fn() -> A>,
}

impl<'a, A: Api> Fields<'a, A> {
    /// Refuses a property outside `updatable` and `also` (properties the caller reads
    /// itself, not named in the message); OData annotations pass where the API ignores
    /// them.
    pub fn new(
        body: &'a Map<String, Value>,
        updatable: &[&str],
        also: &[&str],
    ) -> Result<Self, A::Error> {
        let allowed = |k: &str| {
            (A::ANNOTATIONS && k.starts_with('@')) || updatable.contains(&k) || also.contains(&k)
        };
        if let Some(k) = body.keys().find(|k| !allowed(k)) {
            return Err(A::not_updatable(k, &updatable.join(", ")));
        }
        Ok(Self {
            body,
            api: PhantomData,
        })
    }

    /// The body itself.
    pub fn body(&self) -> &'a Map<String, Value> {
        self.body
    }

    /// Whether any of `names` is present.
    pub fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.body.contains_key(*n))
    }

    /// Whether `name` is present as `null`.
    pub fn is_null(&self, name: &str) -> bool {
        self.body.get(name).is_some_and(Value::is_null)
    }

    /// A string property: `None` when absent (or `null`, where the API reads it so).
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, A::Error> {
        match self.body.get(name) {
            None => Ok(None),
            Some(Value::Null) if A::NULL_IS_ABSENT => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(A::not_a_string(name)),
        }
    }

    /// An enum property: one of `allowed` (as the API matches case), answered as listed.
    pub fn one_of(
        &self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, A::Error> {
        self.str(name)?
            .map(|v| one_of::<A>(name, v, allowed))
            .transpose()
    }
}

/// `value` of enum property `name` as listed in `allowed`, or the API's 400.
pub fn one_of<A: Api>(
    name: &str,
    value: &str,
    allowed: &[&'static str],
) -> Result<&'static str, A::Error> {
    allowed
        .iter()
        .find(|a| {
            if A::ENUMS_IGNORE_CASE {
                a.eq_ignore_ascii_case(value)
            } else {
                **a == value
            }
        })
        .copied()
        .ok_or_else(|| A::invalid_value(name, value, allowed))
}
