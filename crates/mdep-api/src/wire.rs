//! How the services' JSON is read, for MDE's entities and Graph's alike: the fields a
//! type does not name are kept, ids sent as numbers are read as text, and `null` stands
//! for an empty list.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Fields a type does not name, kept as they came.
pub type Extra = Map<String, Value>;

/// An id the service sends as a string or a number (`"995"`, `140`), kept as text.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// `null` read as the type's default (an empty list).
pub(crate) fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
