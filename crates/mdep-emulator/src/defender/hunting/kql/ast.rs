//! The tree a query parses into, and the error a query that does not parse gives.

use std::fmt;

/// Longest query accepted, in bytes.
pub const MAX_QUERY: usize = 30_000;
/// Operators the subset runs.
pub const SUPPORTED: &str =
    "where, project, extend, summarize, order by, sort by, take, limit, top, count, distinct";

/// A query that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KqlError {
    /// Byte offset.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Query could not be parsed at position {}: {}",
            self.position, self.message
        )
    }
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `null` (from `dynamic(null)`-less subset: only produced by functions).
    Null,
    /// String.
    Str(String),
    /// Integer.
    Int(i64),
    /// Real.
    Real(f64),
    /// Boolean.
    Bool(bool),
    /// Timespan in nanoseconds.
    Span(i128),
    /// `datetime(…)` as written.
    Time(String),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~`
    EqCi,
    /// `!~`
    NeCi,
    /// `contains`
    Contains,
    /// `!contains`
    NotContains,
    /// `contains_cs`
    ContainsCs,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `has`
    Has,
    /// `!has`
    NotHas,
    /// `and`
    And,
    /// `or`
    Or,
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column.
    Col(String),
    /// A literal.
    Lit(Lit),
    /// `a op b`.
    Bin(Box<Expr>, BinOp, Box<Expr>),
    /// `a in (…)`, `!in`, `in~`.
    In {
        /// Left side.
        expr: Box<Expr>,
        /// Candidates.
        list: Vec<Expr>,
        /// `!in`.
        negated: bool,
        /// `in~`.
        case_insensitive: bool,
    },
    /// A function call.
    Call(String, Vec<Expr>),
}

/// An aggregation of `summarize`.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    /// `count()`
    Count,
    /// `dcount(x)`
    DCount(Expr),
    /// `min(x)`
    Min(Expr),
    /// `max(x)`
    Max(Expr),
    /// `sum(x)`
    Sum(Expr),
    /// `countif(pred)`
    CountIf(Expr),
}

/// A tabular operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `where pred`
    Where(Expr),
    /// `project a, b = expr`
    Project(Vec<(Option<String>, Expr)>),
    /// `extend a = expr`
    Extend(Vec<(Option<String>, Expr)>),
    /// `summarize aggs by keys`
    Summarize {
        /// Aggregations with optional names.
        aggs: Vec<(Option<String>, Agg)>,
        /// Group keys with optional names.
        by: Vec<(Option<String>, Expr)>,
    },
    /// `order by e [asc|desc], …` (descending by default, as Kusto).
    Order(Vec<(Expr, bool)>),
    /// `take n` / `limit n`
    Take(u64),
    /// `top n by e [asc|desc]`
    Top(u64, Expr, bool),
    /// `count`
    Count,
    /// `distinct a, b`
    Distinct(Vec<String>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The table.
    pub table: String,
    /// The operators, in order.
    pub ops: Vec<Op>,
}

/// An error at byte `position`.
pub fn err<T>(position: usize, message: impl Into<String>) -> Result<T, KqlError> {
    Err(KqlError {
        position,
        message: message.into(),
    })
}
