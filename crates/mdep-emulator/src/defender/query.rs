//! OData query options over the emulator's JSON entities: `$filter` (parsed by
//! [`mdep_model::odata`], checked against the properties MDE documents as filterable per
//! entity, then evaluated here), `$top` (at most 10,000), `$skip`, `$orderby`, `$select`,
//! `$expand=evidence` (alerts), `$count=true`, and `@odata.nextLink` paging.

use crate::request::error::{MdeError, truncate};
use mdep_model::odata::{CompareOp, Filter, Literal, StringFunction};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Largest `$top` MDE accepts.
pub const MAX_TOP: usize = 10_000;

/// The type of a filterable property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Edm.String`.
    Str,
    /// An enum, ordered as listed (OData compares enums by their underlying value).
    Enum(&'static [&'static str]),
    /// `Edm.DateTimeOffset`.
    Time,
    /// A number.
    Num,
    /// `Edm.Boolean`.
    Bool,
    /// `Edm.Guid` (compared case-insensitively).
    Guid,
    /// A collection of strings (`any()` only).
    StrList,
    /// A collection of numbers (`any()` only).
    NumList,
}

impl Kind {
    fn edm(self) -> &'static str {
        match self {
            Self::Str => "Edm.String",
            Self::Enum(_) => "Edm.Enum",
            Self::Time => "Edm.DateTimeOffset",
            Self::Num => "Edm.Int64",
            Self::Bool => "Edm.Boolean",
            Self::Guid => "Edm.Guid",
            Self::StrList => "Collection(Edm.String)",
            Self::NumList => "Collection(Edm.Int64)",
        }
    }

    fn element(self) -> Option<Kind> {
        match self {
            Self::StrList => Some(Self::Str),
            Self::NumList => Some(Self::Num),
            _ => None,
        }
    }
}

/// A filterable (and sortable) property.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON key.
    pub key: &'static str,
    /// Its type.
    pub kind: Kind,
}

/// What the query engine knows of an entity set.
#[derive(Debug)]
pub struct EntitySet {
    /// Entity name for messages, e.g. `Alert`.
    pub name: &'static str,
    /// Properties `$filter` and `$orderby` accept.
    pub filterable: &'static [Field],
    /// Every property (for `$select`).
    pub properties: &'static [&'static str],
    /// Whether `$expand=evidence` applies.
    pub expands_evidence: bool,
    /// Largest `$top` (10,000 on most sets).
    pub max_top: usize,
}

impl EntitySet {
    fn field(&self, name: &str) -> Option<&Field> {
        self.filterable
            .iter()
            .find(|f| f.key.eq_ignore_ascii_case(name))
    }

    fn not_filterable(&self, name: &str) -> MdeError {
        let names: Vec<&str> = self.filterable.iter().map(|f| f.key).collect();
        MdeError::odata(format!(
            "Invalid filter: property '{}' is not filterable on {}. Filterable properties: {}.",
            truncate(name),
            self.name,
            names.join(", ")
        ))
    }
}

#[derive(Debug, Clone)]
enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Time(i128),
}

#[derive(Debug, Clone)]
enum Pred {
    Or(Box<Pred>, Box<Pred>),
    And(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
    /// `key` `None`: the lambda element itself.
    Cmp {
        key: Option<&'static str>,
        kind: Kind,
        op: CompareOp,
        lit: Lit,
    },
    In {
        key: Option<&'static str>,
        kind: Kind,
        lits: Vec<Lit>,
    },
    Any {
        key: &'static str,
        body: Option<Box<Pred>>,
    },
    Func {
        key: Option<&'static str>,
        function: StringFunction,
        value: String,
    },
}

fn parse_time(s: &str) -> Option<i128> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| {
            // A date alone means its midnight UTC.
            OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339).ok()
        })
        .map(OffsetDateTime::unix_timestamp_nanos)
}

fn incompatible(field: &str, kind: Kind, lit: &Literal) -> MdeError {
    let found = match lit {
        Literal::Null => "null",
        Literal::Bool(_) => "Edm.Boolean",
        Literal::Int(_) => "Edm.Int64",
        Literal::Float(_) => "Edm.Double",
        Literal::String(_) => "Edm.String",
        Literal::DateTime(_) => "Edm.DateTimeOffset",
        Literal::Guid(_) => "Edm.Guid",
    };
    MdeError::odata(format!(
        "Invalid filter: property '{field}' is of type '{}' and cannot be compared with a value of type '{found}' ({}).",
        kind.edm(),
        truncate(&lit.to_string())
    ))
}

fn literal(field: &str, kind: Kind, lit: &Literal) -> Result<Lit, MdeError> {
    let bad = || incompatible(field, kind, lit);
    Ok(match (kind, lit) {
        (_, Literal::Null) => Lit::Null,
        (Kind::Time, Literal::DateTime(s) | Literal::String(s)) => {
            Lit::Time(parse_time(s).ok_or_else(bad)?)
        }
        (Kind::Num, Literal::Int(n)) => Lit::Num(*n as f64),
        (Kind::Num, Literal::Float(f)) => Lit::Num(*f),
        (Kind::Bool, Literal::Bool(b)) => Lit::Bool(*b),
        (Kind::Str | Kind::Enum(_), Literal::String(s)) => Lit::Str(s.clone()),
        (Kind::Guid, Literal::Guid(s) | Literal::String(s)) => Lit::Str(s.to_ascii_lowercase()),
        _ => return Err(bad()),
    })
}

struct Scope<'a> {
    set: &'a EntitySet,
    /// Inside `any()`: the lambda variable and the element type.
    lambda: Option<(&'a str, Kind)>,
}

fn resolve(scope: &Scope<'_>, path: &str) -> Result<(Option<&'static str>, Kind), MdeError> {
    if let Some((var, kind)) = scope.lambda {
        if path == var {
            return Ok((None, kind));
        }
        if path.starts_with(&format!("{var}/")) {
            return Err(MdeError::odata(format!(
                "Invalid filter: the elements of this collection have no property '{}'.",
                truncate(path)
            )));
        }
    }
    let f = scope
        .set
        .field(path)
        .ok_or_else(|| scope.set.not_filterable(path))?;
    Ok((Some(f.key), f.kind))
}

fn compile(scope: &Scope<'_>, f: &Filter) -> Result<Pred, MdeError> {
    Ok(match f {
        Filter::Or(a, b) => Pred::Or(Box::new(compile(scope, a)?), Box::new(compile(scope, b)?)),
        Filter::And(a, b) => Pred::And(Box::new(compile(scope, a)?), Box::new(compile(scope, b)?)),
        Filter::Not(a) => Pred::Not(Box::new(compile(scope, a)?)),
        Filter::Compare { path, op, value } => {
            let (key, kind) = resolve(scope, path)?;
            if kind.element().is_some() {
                return Err(MdeError::odata(format!(
                    "Invalid filter: '{path}' is a collection; use {path}/any(x: x eq …)."
                )));
            }
            Pred::Cmp {
                key,
                kind,
                op: *op,
                lit: literal(path, kind, value)?,
            }
        }
        Filter::In { path, values } => {
            let (key, kind) = resolve(scope, path)?;
            if kind.element().is_some() {
                return Err(MdeError::odata(format!(
                    "Invalid filter: '{path}' is a collection; use {path}/any(x: x in (…))."
                )));
            }
            let lits = values
                .iter()
                .map(|v| literal(path, kind, v))
                .collect::<Result<_, _>>()?;
            Pred::In { key, kind, lits }
        }
        Filter::Any { path, lambda } => {
            if scope.lambda.is_some() {
                return Err(MdeError::odata("Invalid filter: any() cannot be nested."));
            }
            let (key, kind) = resolve(scope, path)?;
            let (Some(key), Some(element)) = (key, kind.element()) else {
                return Err(MdeError::odata(format!(
                    "Invalid filter: any() applies to collections; '{path}' is not one."
                )));
            };
            let body = match lambda {
                None => None,
                Some((var, body)) => {
                    let inner = Scope {
                        set: scope.set,
                        lambda: Some((var.as_str(), element)),
                    };
                    Some(Box::new(compile(&inner, body)?))
                }
            };
            Pred::Any { key, body }
        }
        Filter::Function {
            function,
            path,
            value,
        } => {
            let (key, kind) = resolve(scope, path)?;
            if !matches!(kind, Kind::Str | Kind::Enum(_) | Kind::Guid) {
                return Err(MdeError::odata(format!(
                    "Invalid filter: {}() applies to strings; '{path}' is of type '{}'.",
                    function.name(),
                    kind.edm()
                )));
            }
            Pred::Func {
                key,
                function: *function,
                value: value.clone(),
            }
        }
    })
}

fn order_of(kind: Kind, v: &Value, lit: &Lit) -> Option<Ordering> {
    match (lit, v) {
        (Lit::Null, _) | (_, Value::Null) => None,
        (Lit::Time(t), Value::String(s)) => parse_time(s).map(|x| x.cmp(t)),
        (Lit::Num(n), Value::Number(x)) => x.as_f64().and_then(|x| x.partial_cmp(n)),
        (Lit::Bool(b), Value::Bool(x)) => Some(x.cmp(b)),
        (Lit::Str(s), Value::String(x)) => Some(match kind {
            Kind::Enum(order) => {
                let rank = |s: &str| order.iter().position(|o| o.eq_ignore_ascii_case(s));
                match (rank(x), rank(s)) {
                    (Some(a), Some(b)) => a.cmp(&b),
                    _ => x.as_str().cmp(s.as_str()),
                }
            }
            Kind::Guid => x.to_ascii_lowercase().cmp(s),
            _ => x.as_str().cmp(s.as_str()),
        }),
        _ => None,
    }
}

fn compare(kind: Kind, v: &Value, op: CompareOp, lit: &Lit) -> bool {
    if matches!(lit, Lit::Null) {
        return match op {
            CompareOp::Eq => v.is_null(),
            CompareOp::Ne => !v.is_null(),
            _ => false,
        };
    }
    match order_of(kind, v, lit) {
        None => op == CompareOp::Ne,
        Some(o) => match op {
            CompareOp::Eq => o == Ordering::Equal,
            CompareOp::Ne => o != Ordering::Equal,
            CompareOp::Gt => o == Ordering::Greater,
            CompareOp::Ge => o != Ordering::Less,
            CompareOp::Lt => o == Ordering::Less,
            CompareOp::Le => o != Ordering::Greater,
        },
    }
}

fn get<'v>(item: &'v Value, key: Option<&str>) -> &'v Value {
    match key {
        None => item,
        Some(k) => item.get(k).unwrap_or(&Value::Null),
    }
}

fn eval(p: &Pred, item: &Value) -> bool {
    match p {
        Pred::Or(a, b) => eval(a, item) || eval(b, item),
        Pred::And(a, b) => eval(a, item) && eval(b, item),
        Pred::Not(a) => !eval(a, item),
        Pred::Cmp { key, kind, op, lit } => compare(*kind, get(item, *key), *op, lit),
        Pred::In { key, kind, lits } => {
            let v = get(item, *key);
            lits.iter().any(|l| compare(*kind, v, CompareOp::Eq, l))
        }
        Pred::Any { key, body } => match item.get(*key) {
            Some(Value::Array(xs)) => match body {
                None => !xs.is_empty(),
                Some(b) => xs.iter().any(|x| eval(b, x)),
            },
            _ => false,
        },
        Pred::Func {
            key,
            function,
            value,
        } => match get(item, *key) {
            Value::String(s) => match function {
                StringFunction::StartsWith => s.starts_with(value.as_str()),
                StringFunction::EndsWith => s.ends_with(value.as_str()),
                StringFunction::Contains => s.contains(value.as_str()),
            },
            _ => false,
        },
    }
}

fn sort_cmp(kind: Kind, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => {
            let lit = match kind {
                Kind::Time => parse_time(y).map_or_else(|| Lit::Str(y.clone()), Lit::Time),
                Kind::Guid => Lit::Str(y.to_ascii_lowercase()),
                _ => Lit::Str(y.clone()),
            };
            order_of(kind, a, &lit).unwrap_or_else(|| x.cmp(y))
        }
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Parsed query options.
#[derive(Debug)]
pub struct Query {
    pred: Option<Pred>,
    /// `$top`.
    pub top: Option<usize>,
    /// `$skip`.
    pub skip: usize,
    order: Vec<(&'static str, Kind, bool)>,
    select: Option<Vec<&'static str>>,
    /// `$expand=evidence`.
    pub expand_evidence: bool,
    /// `$count=true`.
    pub count: bool,
    /// Every parameter as received, for the next link.
    pairs: Vec<(String, String)>,
}

/// One page of results, with each item's position in the input.
#[derive(Debug)]
pub struct Selection<'a> {
    /// Position and item.
    pub items: Vec<(usize, Cow<'a, Value>)>,
    /// Total matches, for `$count=true`.
    pub count: Option<usize>,
    /// Query string of the next page, when more remain.
    pub next: Option<String>,
}

/// One page of results.
#[derive(Debug)]
pub struct Page {
    /// The items on this page.
    pub items: Vec<Value>,
    /// Total matches, for `$count=true`.
    pub count: Option<usize>,
    /// Query string of the next page, when more remain.
    pub next: Option<String>,
}

impl Query {
    /// Parses the raw query string for `set`.
    pub fn parse(raw: Option<&str>, set: &EntitySet) -> Result<Self, MdeError> {
        let pairs: Vec<(String, String)> = raw
            .map(|r| {
                form_urlencoded::parse(r.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut q = Query {
            pred: None,
            top: None,
            skip: 0,
            order: Vec::new(),
            select: None,
            expand_evidence: false,
            count: false,
            pairs: Vec::new(),
        };
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in &pairs {
            if !k.starts_with('$') {
                continue;
            }
            let name = k.to_ascii_lowercase();
            if seen.contains(&name) {
                return Err(MdeError::odata(format!(
                    "Query option '{}' was specified more than once, but it must be specified at most once.",
                    truncate(k)
                )));
            }
            seen.push(name.clone());
            match name.as_str() {
                "$filter" => {
                    let f = Filter::parse(v).map_err(|e| {
                        MdeError::odata(format!("Invalid filter '{}': {e}.", truncate(v)))
                    })?;
                    q.pred = Some(compile(&Scope { set, lambda: None }, &f)?);
                }
                "$top" => {
                    let n = count_option("$top", v)?;
                    if n > set.max_top {
                        return Err(MdeError::odata(format!(
                            "The limit of '{}' for Top query has been exceeded. The value from the incoming request is '{n}'.",
                            set.max_top
                        )));
                    }
                    q.top = Some(n);
                }
                "$skip" => q.skip = count_option("$skip", v)?,
                "$orderby" => {
                    for part in v.split(',') {
                        let mut words = part.split_whitespace();
                        let name = words.next().unwrap_or("");
                        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                            None | Some("asc") => false,
                            Some("desc") => true,
                            Some(other) => {
                                return Err(MdeError::odata(format!(
                                    "Invalid $orderby: '{}' is not asc or desc.",
                                    truncate(other)
                                )));
                            }
                        };
                        if words.next().is_some() || name.is_empty() {
                            return Err(MdeError::odata(format!(
                                "Invalid $orderby '{}': expected 'property [asc|desc], …'.",
                                truncate(v)
                            )));
                        }
                        let f = set.field(name).ok_or_else(|| {
                            MdeError::odata(format!(
                                "Invalid $orderby: property '{}' is not sortable on {}.",
                                truncate(name),
                                set.name
                            ))
                        })?;
                        if f.kind.element().is_some() {
                            return Err(MdeError::odata(format!(
                                "Invalid $orderby: '{}' is a collection.",
                                f.key
                            )));
                        }
                        q.order.push((f.key, f.kind, desc));
                    }
                }
                "$select" => {
                    let mut keys = Vec::new();
                    for name in v.split(',').map(str::trim) {
                        let key = set
                            .properties
                            .iter()
                            .find(|p| p.eq_ignore_ascii_case(name))
                            .ok_or_else(|| {
                                MdeError::odata(format!(
                                    "Could not find a property named '{}' on type {}.",
                                    truncate(name),
                                    set.name
                                ))
                            })?;
                        if !keys.contains(key) {
                            keys.push(*key);
                        }
                    }
                    q.select = Some(keys);
                }
                "$expand" => {
                    for name in v.split(',').map(str::trim) {
                        if set.expands_evidence && name.eq_ignore_ascii_case("evidence") {
                            q.expand_evidence = true;
                        } else {
                            return Err(MdeError::odata(format!(
                                "Property '{}' on type {} is not a navigation property or complex property that can be expanded.",
                                truncate(name),
                                set.name
                            )));
                        }
                    }
                }
                "$count" => {
                    q.count = match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(MdeError::odata(format!(
                                "'{}' is not a valid count option.",
                                truncate(v)
                            )));
                        }
                    }
                }
                _ => {
                    return Err(MdeError::odata(format!(
                        "The query parameter '{}' is not supported.",
                        truncate(k)
                    )));
                }
            }
        }
        q.pairs = pairs;
        Ok(q)
    }

    /// True when `item` passes `$filter`.
    pub fn matches(&self, item: &Value) -> bool {
        self.pred.as_ref().is_none_or(|p| eval(p, item))
    }

    /// Filters, orders and pages `items`, `page_size` at most per page.
    pub fn run<'a, I>(&self, items: I, page_size: usize) -> Page
    where
        I: Iterator<Item = Cow<'a, Value>>,
    {
        let s = self.select(items.enumerate(), page_size);
        Page {
            items: s.items.into_iter().map(|(_, v)| v.into_owned()).collect(),
            count: s.count,
            next: s.next,
        }
    }

    /// [`Query::run`] keeping each item's position in `items` (for callers that hold
    /// the items' serialised form).
    pub fn select<'a, I>(&self, items: I, page_size: usize) -> Selection<'a>
    where
        I: Iterator<Item = (usize, Cow<'a, Value>)>,
    {
        let page_size = page_size.max(1);
        let window = self.top.unwrap_or(usize::MAX);
        let want = window.min(page_size);
        let mut count = None;
        let (items, more) = if self.order.is_empty() && !self.count {
            let mut it = items.filter(|(_, v)| self.matches(v)).skip(self.skip);
            let page: Vec<(usize, Cow<'a, Value>)> = it.by_ref().take(want).collect();
            let more = window > page.len() && page.len() == want && it.next().is_some();
            (page, more)
        } else {
            let mut all: Vec<(usize, Cow<'a, Value>)> =
                items.filter(|(_, v)| self.matches(v)).collect();
            count = Some(all.len());
            if !self.order.is_empty() {
                all.sort_by(|(_, a), (_, b)| {
                    for (key, kind, desc) in &self.order {
                        let x = a.get(*key).unwrap_or(&Value::Null);
                        let y = b.get(*key).unwrap_or(&Value::Null);
                        let o = sort_cmp(*kind, x, y);
                        let o = if *desc { o.reverse() } else { o };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    Ordering::Equal
                });
            }
            let remaining = all.len().saturating_sub(self.skip).min(window);
            let page: Vec<(usize, Cow<'a, Value>)> =
                all.into_iter().skip(self.skip).take(want).collect();
            let more = remaining > page.len();
            (page, more)
        };
        let next = more.then(|| self.next_query(items.len()));
        Selection {
            items,
            count: if self.count { count } else { None },
            next,
        }
    }

    /// True when items are returned whole (no `$select`, no `$expand`).
    pub fn whole_items(&self) -> bool {
        self.select.is_none() && !self.expand_evidence
    }

    fn next_query(&self, served: usize) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        let mut wrote_skip = false;
        for (k, v) in &self.pairs {
            match k.to_ascii_lowercase().as_str() {
                "$skip" => {
                    ser.append_pair(k, &(self.skip + served).to_string());
                    wrote_skip = true;
                }
                "$top" => {
                    let left = self.top.unwrap_or(0).saturating_sub(served);
                    ser.append_pair(k, &left.to_string());
                }
                _ => {
                    ser.append_pair(k, v);
                }
            }
        }
        if !wrote_skip {
            ser.append_pair("$skip", &(self.skip + served).to_string());
        }
        ser.finish()
    }

    /// Applies `$select` to one item.
    pub fn project(&self, item: Value) -> Value {
        match (&self.select, item) {
            (Some(keys), Value::Object(mut m)) => {
                let mut out = serde_json::Map::new();
                for k in keys {
                    if let Some(v) = m.remove(*k) {
                        out.insert((*k).to_owned(), v);
                    }
                }
                Value::Object(out)
            }
            (_, other) => other,
        }
    }
}

fn count_option(name: &str, v: &str) -> Result<usize, MdeError> {
    v.trim().parse::<usize>().map_err(|_| {
        MdeError::odata(format!(
            "Invalid value '{}' for {name}: expected a non-negative integer.",
            truncate(v)
        ))
    })
}

#[cfg(test)]
mod tests;
