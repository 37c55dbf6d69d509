//! The KQL subset of the emulator's advanced hunting: a lexer and parser into a small
//! tree. Tabular operators: `where` (`filter`), `project`, `extend`, `summarize … by …`,
//! `order by`/`sort by`, `take`/`limit`, `top N by`, `count`, `distinct`. Scalar
//! expressions: comparisons (`== != < <= > >= =~ !~`), string operators (`contains`,
//! `!contains`, `contains_cs`, `startswith`, `endswith`, `has`, `!has`), `in`/`!in`/`in~`,
//! `and`/`or`/`not()`, literals (strings, numbers, `true`/`false`, timespans such as `7d`,
//! `datetime(…)`), and the functions `ago`, `now`, `tolower`, `toupper`, `strlen`,
//! `isempty`, `isnotempty`, `isnull`, `isnotnull`, `tostring`, `tolong`, `bin`.

use std::fmt;

/// Longest query accepted, in bytes.
pub const MAX_QUERY: usize = 30_000;
const MAX_DEPTH: usize = 64;

/// Tabular operators the subset knows the names of but does not run.
const UNSUPPORTED: &[&str] = &[
    "join",
    "union",
    "lookup",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "make-series",
    "render",
    "evaluate",
    "invoke",
    "sample",
    "sample-distinct",
    "search",
    "find",
    "as",
    "serialize",
    "project-away",
    "project-rename",
    "project-reorder",
    "project-keep",
    "getschema",
    "top-nested",
    "top-hitters",
    "scan",
    "partition",
    "facet",
    "fork",
    "range",
    "print",
    "externaldata",
    "let",
];

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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Span(i128),
    Pipe,
    Comma,
    LParen,
    RParen,
    Op(&'static str),
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, KqlError> {
    Err(KqlError {
        position,
        message: message.into(),
    })
}

fn span_unit(unit: &str) -> Option<i128> {
    Some(match unit {
        "d" | "day" | "days" => 86_400_000_000_000,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000_000,
        "m" | "min" | "minute" | "minutes" => 60_000_000_000,
        "s" | "sec" | "second" | "seconds" => 1_000_000_000,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        _ => return None,
    })
}

fn lex(q: &str) -> Result<Vec<(usize, Tok)>, KqlError> {
    let b: Vec<(usize, char)> = q.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| b.get(i).map(|(_, c)| *c);
    let pos = |i: usize| b.get(i).map_or(q.len(), |(p, _)| *p);
    while let Some(c) = at(i) {
        let p = pos(i);
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '|' => {
                out.push((p, Tok::Pipe));
                i += 1;
            }
            ',' => {
                out.push((p, Tok::Comma));
                i += 1;
            }
            '(' => {
                out.push((p, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((p, Tok::RParen));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match at(i) {
                        None => return err(p, "unterminated string literal"),
                        Some('\\') => {
                            match at(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(e) => s.push(e),
                                None => return err(p, "unterminated string literal"),
                            }
                            i += 2;
                        }
                        Some(ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((p, Tok::Str(s)));
            }
            '@' if matches!(at(i + 1), Some('"' | '\'')) => {
                // Verbatim string: no escapes.
                let quote = at(i + 1).unwrap_or('"');
                let mut s = String::new();
                i += 2;
                loop {
                    match at(i) {
                        None => return err(p, "unterminated string literal"),
                        Some(ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((p, Tok::Str(s)));
            }
            c if c.is_ascii_digit() => {
                let start = i;
                while at(i).is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    i += 1;
                }
                let num = &q[p..pos(i)];
                let ustart = i;
                while at(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                    i += 1;
                }
                let unit = &q[pos(ustart)..pos(i)];
                if unit.is_empty() {
                    out.push((p, Tok::Num(num.to_owned())));
                } else {
                    let Some(mult) = span_unit(unit) else {
                        return err(
                            pos(start),
                            format!("'{num}{unit}' is not a number or timespan"),
                        );
                    };
                    let Ok(n) = num.parse::<f64>() else {
                        return err(p, format!("'{num}' is not a number"));
                    };
                    let v = n * mult as f64;
                    if !v.is_finite() || v.abs() > 1e30 {
                        return err(p, "timespan out of range");
                    }
                    out.push((p, Tok::Span(v as i128)));
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                while at(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
                {
                    // `mv-expand`, `project-away`: a '-' joins only letters.
                    if at(i) == Some('-') && !at(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
                        break;
                    }
                    i += 1;
                }
                let word = &q[p..pos(i)];
                if word == "datetime" {
                    // The literal's text is raw up to ')': `datetime(2024-01-01T00:00:00Z)`.
                    let mut j = i;
                    while at(j).is_some_and(char::is_whitespace) {
                        j += 1;
                    }
                    if at(j) == Some('(') {
                        let open = pos(j);
                        let mut k = j + 1;
                        while at(k).is_some_and(|c| c != ')') {
                            k += 1;
                        }
                        if at(k).is_none() {
                            return err(open, "unterminated datetime literal");
                        }
                        out.push((p, Tok::Ident(word.to_owned())));
                        out.push((open, Tok::LParen));
                        out.push((open + 1, Tok::Str(q[open + 1..pos(k)].trim().to_owned())));
                        out.push((pos(k), Tok::RParen));
                        i = k + 1;
                        continue;
                    }
                }
                if word == "in" && at(i) == Some('~') {
                    i += 1;
                    out.push((p, Tok::Ident("in~".into())));
                } else {
                    out.push((p, Tok::Ident(word.to_owned())));
                }
            }
            '!' if at(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                let s = i + 1;
                i += 1;
                while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    i += 1;
                }
                let word = format!("!{}", &q[pos(s)..pos(i)]);
                out.push((p, Tok::Ident(word)));
            }
            _ => {
                let two: String = [at(i), at(i + 1)].iter().flatten().collect();
                let op = ["==", "!=", "<=", ">=", "=~", "!~"]
                    .into_iter()
                    .find(|o| two == *o);
                if let Some(o) = op {
                    out.push((p, Tok::Op(o)));
                    i += 2;
                } else {
                    let one = match c {
                        '<' => "<",
                        '>' => ">",
                        '=' => "=",
                        '+' | '-' | '*' | '/' | '%' => {
                            return err(
                                p,
                                format!(
                                    "arithmetic ('{c}') is not supported by the emulator's KQL subset"
                                ),
                            );
                        }
                        _ => return err(p, format!("unexpected character '{c}'")),
                    };
                    out.push((p, Tok::Op(one)));
                    i += 1;
                }
            }
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    depth: usize,
}

impl P {
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(p, _)| *p)
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.peek().cloned();
        self.i += 1;
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }
    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), KqlError> {
        if self.peek() == Some(t) {
            self.i += 1;
            Ok(())
        } else {
            err(self.pos(), format!("expected {what}"))
        }
    }
    fn word(&mut self, what: &str) -> Result<String, KqlError> {
        match self.next() {
            Some(Tok::Ident(w)) => Ok(w),
            _ => {
                self.i -= 1;
                err(self.pos(), format!("expected {what}"))
            }
        }
    }

    fn count(&mut self) -> Result<u64, KqlError> {
        match self.next() {
            Some(Tok::Num(n)) => n
                .parse::<u64>()
                .or_else(|_| err(self.pos(), format!("'{n}' is not a row count"))),
            _ => {
                self.i -= 1;
                err(self.pos(), "expected a row count")
            }
        }
    }

    fn query(&mut self) -> Result<Query, KqlError> {
        let table = self.word("a table name")?;
        let mut ops = Vec::new();
        while self.peek().is_some() {
            self.expect(&Tok::Pipe, "'|'")?;
            ops.push(self.op()?);
        }
        Ok(Query { table, ops })
    }

    fn op(&mut self) -> Result<Op, KqlError> {
        let at = self.pos();
        let name = self.word("an operator after '|'")?;
        Ok(match name.as_str() {
            "where" | "filter" => Op::Where(self.expr()?),
            "project" => Op::Project(self.assignments()?),
            "extend" => Op::Extend(self.assignments()?),
            "summarize" => {
                let mut aggs = Vec::new();
                if !self.is_word("by") {
                    loop {
                        let (name, e) = self.assignment()?;
                        aggs.push((name, to_agg(e, at)?));
                        if self.peek() != Some(&Tok::Comma) {
                            break;
                        }
                        self.i += 1;
                    }
                }
                let mut by = Vec::new();
                if self.is_word("by") {
                    self.i += 1;
                    by = self.assignments()?;
                }
                if aggs.is_empty() && by.is_empty() {
                    return err(at, "summarize needs an aggregation or a 'by' clause");
                }
                Op::Summarize { aggs, by }
            }
            "order" | "sort" => {
                if !self.is_word("by") {
                    return err(self.pos(), format!("expected 'by' after '{name}'"));
                }
                self.i += 1;
                let mut keys = Vec::new();
                loop {
                    let e = self.expr()?;
                    let desc = self.direction();
                    keys.push((e, desc));
                    if self.peek() != Some(&Tok::Comma) {
                        break;
                    }
                    self.i += 1;
                }
                Op::Order(keys)
            }
            "take" | "limit" => Op::Take(self.count()?),
            "top" => {
                let n = self.count()?;
                if !self.is_word("by") {
                    return err(self.pos(), "expected 'by' after 'top N'");
                }
                self.i += 1;
                let e = self.expr()?;
                let desc = self.direction();
                Op::Top(n, e, desc)
            }
            "count" => Op::Count,
            "distinct" => {
                let mut cols = vec![self.word("a column")?];
                while self.peek() == Some(&Tok::Comma) {
                    self.i += 1;
                    cols.push(self.word("a column")?);
                }
                Op::Distinct(cols)
            }
            other if UNSUPPORTED.contains(&other) => {
                return err(
                    at,
                    format!(
                        "the '{other}' operator is not supported by the emulator's KQL subset (supported: {SUPPORTED})"
                    ),
                );
            }
            other => {
                return err(
                    at,
                    format!("'{other}' is not a tabular operator (supported: {SUPPORTED})"),
                );
            }
        })
    }

    fn direction(&mut self) -> bool {
        if self.is_word("asc") {
            self.i += 1;
            false
        } else {
            if self.is_word("desc") {
                self.i += 1;
            }
            true
        }
    }

    fn assignments(&mut self) -> Result<Vec<(Option<String>, Expr)>, KqlError> {
        let mut out = vec![self.assignment()?];
        while self.peek() == Some(&Tok::Comma) {
            self.i += 1;
            out.push(self.assignment()?);
        }
        Ok(out)
    }

    fn assignment(&mut self) -> Result<(Option<String>, Expr), KqlError> {
        if let (Some(Tok::Ident(name)), Some((_, Tok::Op("=")))) =
            (self.peek().cloned(), self.toks.get(self.i + 1))
        {
            self.i += 2;
            return Ok((Some(name), self.expr()?));
        }
        Ok((None, self.expr()?))
    }

    fn expr(&mut self) -> Result<Expr, KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(self.pos(), "the expression is nested too deeply");
        }
        let mut left = self.and()?;
        while self.is_word("or") {
            self.i += 1;
            let right = self.and()?;
            left = Expr::Bin(Box::new(left), BinOp::Or, Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.cmp()?;
        while self.is_word("and") {
            self.i += 1;
            let right = self.cmp()?;
            left = Expr::Bin(Box::new(left), BinOp::And, Box::new(right));
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<Expr, KqlError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) => match *o {
                "==" => BinOp::Eq,
                "!=" => BinOp::Ne,
                "<" => BinOp::Lt,
                "<=" => BinOp::Le,
                ">" => BinOp::Gt,
                ">=" => BinOp::Ge,
                "=~" => BinOp::EqCi,
                "!~" => BinOp::NeCi,
                _ => return err(self.pos(), format!("unexpected '{o}'")),
            },
            Some(Tok::Ident(w)) => match w.as_str() {
                "contains" => BinOp::Contains,
                "!contains" => BinOp::NotContains,
                "contains_cs" => BinOp::ContainsCs,
                "startswith" => BinOp::StartsWith,
                "endswith" => BinOp::EndsWith,
                "has" => BinOp::Has,
                "!has" => BinOp::NotHas,
                "in" | "!in" | "in~" => {
                    let negated = w == "!in";
                    let case_insensitive = w == "in~";
                    self.i += 1;
                    self.expect(&Tok::LParen, "'(' after in")?;
                    let mut list = vec![self.expr()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.i += 1;
                        list.push(self.expr()?);
                    }
                    self.expect(&Tok::RParen, "')'")?;
                    return Ok(Expr::In {
                        expr: Box::new(left),
                        list,
                        negated,
                        case_insensitive,
                    });
                }
                w if w.starts_with('!')
                    || matches!(
                        w,
                        "matches"
                            | "has_any"
                            | "has_all"
                            | "contains_any"
                            | "between"
                            | "hasprefix"
                            | "hassuffix"
                            | "has_cs"
                            | "startswith_cs"
                            | "endswith_cs"
                    ) =>
                {
                    return err(
                        self.pos(),
                        format!("the '{w}' operator is not supported by the emulator's KQL subset"),
                    );
                }
                _ => return Ok(left),
            },
            _ => return Ok(left),
        };
        self.i += 1;
        let right = self.primary()?;
        Ok(Expr::Bin(Box::new(left), op, Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let at = self.pos();
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Str(s)) => Ok(Expr::Lit(Lit::Str(s))),
            Some(Tok::Span(n)) => Ok(Expr::Lit(Lit::Span(n))),
            Some(Tok::Num(n)) => {
                if let Ok(i) = n.parse::<i64>() {
                    Ok(Expr::Lit(Lit::Int(i)))
                } else if let Ok(f) = n.parse::<f64>() {
                    Ok(Expr::Lit(Lit::Real(f)))
                } else {
                    err(at, format!("'{n}' is not a number"))
                }
            }
            Some(Tok::Ident(w)) => match w.as_str() {
                "true" => Ok(Expr::Lit(Lit::Bool(true))),
                "false" => Ok(Expr::Lit(Lit::Bool(false))),
                "datetime" if self.peek() == Some(&Tok::LParen) => {
                    // Raw text up to ')': `datetime(2024-01-01T00:00:00Z)`.
                    let open = self.pos();
                    let mut text = String::new();
                    self.i += 1;
                    loop {
                        match self.next() {
                            Some(Tok::RParen) => break,
                            Some(Tok::Num(n)) => text.push_str(&n),
                            Some(Tok::Ident(s)) | Some(Tok::Str(s)) => text.push_str(&s),
                            Some(Tok::Op(o)) => text.push_str(o),
                            Some(Tok::Span(_)) => return err(open, "malformed datetime literal"),
                            _ => return err(open, "unterminated datetime literal"),
                        }
                    }
                    Ok(Expr::Lit(Lit::Time(text)))
                }
                "not" if self.peek() == Some(&Tok::LParen) => {
                    self.i += 1;
                    let e = self.expr()?;
                    self.expect(&Tok::RParen, "')'")?;
                    Ok(Expr::Call("not".into(), vec![e]))
                }
                name if self.peek() == Some(&Tok::LParen) => {
                    self.i += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        args.push(self.expr()?);
                        while self.peek() == Some(&Tok::Comma) {
                            self.i += 1;
                            args.push(self.expr()?);
                        }
                    }
                    self.expect(&Tok::RParen, "')'")?;
                    Ok(Expr::Call(name.to_owned(), args))
                }
                name if name.starts_with('!') || name.contains('-') => {
                    err(at, format!("unexpected '{name}'"))
                }
                name => Ok(Expr::Col(name.to_owned())),
            },
            _ => err(at, "expected an expression"),
        }
    }
}

fn to_agg(e: Expr, at: usize) -> Result<Agg, KqlError> {
    let Expr::Call(name, mut args) = e else {
        return err(
            at,
            "summarize takes aggregations such as count(), dcount(x), min(x), max(x), sum(x), countif(p)",
        );
    };
    let one = |args: &mut Vec<Expr>| -> Result<Expr, KqlError> {
        if args.len() == 1 {
            Ok(args.remove(0))
        } else {
            err(at, format!("{name}() takes one argument"))
        }
    };
    Ok(match name.as_str() {
        "count" if args.is_empty() => Agg::Count,
        "dcount" => Agg::DCount(one(&mut args)?),
        "min" => Agg::Min(one(&mut args)?),
        "max" => Agg::Max(one(&mut args)?),
        "sum" => Agg::Sum(one(&mut args)?),
        "countif" => Agg::CountIf(one(&mut args)?),
        other => {
            return err(
                at,
                format!(
                    "'{other}' is not an aggregation the emulator supports (count, dcount, min, max, sum, countif)"
                ),
            );
        }
    })
}

/// Parses a query.
pub fn parse(q: &str) -> Result<Query, KqlError> {
    if q.len() > MAX_QUERY {
        return err(
            MAX_QUERY,
            format!("the query is longer than {MAX_QUERY} bytes"),
        );
    }
    let toks = lex(q)?;
    if toks.is_empty() {
        return err(0, "the query is empty");
    }
    P {
        toks,
        i: 0,
        end: q.len(),
        depth: 0,
    }
    .query()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_example() {
        let q = parse("DeviceProcessEvents |where InitiatingProcessFileName =~ 'powershell.exe' |where ProcessCommandLine contains 'appdata'|project Timestamp, FileName, InitiatingProcessFileName, DeviceId|limit 2").expect("parses");
        assert_eq!(q.table, "DeviceProcessEvents");
        assert_eq!(q.ops.len(), 4);
        assert_eq!(q.ops[3], Op::Take(2));
        assert!(matches!(&q.ops[0], Op::Where(Expr::Bin(_, BinOp::EqCi, _))));
    }

    #[test]
    fn operators_and_literals() {
        let q = parse(
            "AlertInfo | where Timestamp > ago(7d) and Severity in ('High', \"Medium\") or not(Title has 'x')
             | extend T = tolower(Title) | summarize n = count(), dcount(DeviceId) by Severity, bin(Timestamp, 1d)
             | order by n desc, Severity asc | top 5 by n | take 3 // done",
        )
        .expect("parses");
        assert_eq!(q.ops.len(), 6);
        let Op::Summarize { aggs, by } = &q.ops[2] else {
            panic!("summarize")
        };
        assert_eq!(aggs[0], (Some("n".into()), Agg::Count));
        assert_eq!(by.len(), 2);
        assert_eq!(
            parse("T | where x > datetime(2024-01-01T10:00:00Z)").map(|q| q.ops.len()),
            Ok(1)
        );
        assert_eq!(parse("T | where x > 1.5h").map(|q| q.ops.len()), Ok(1));
    }

    #[test]
    fn unsupported_operators_are_named() {
        for (q, needle) in [
            ("T | join (U) on Id", "'join'"),
            ("T | mv-expand x", "'mv-expand'"),
            ("T | project-away x", "'project-away'"),
            ("T | frobnicate", "'frobnicate'"),
            ("T | where a matches regex 'x'", "'matches'"),
            ("T | where a + 1 > 2", "arithmetic"),
            ("T | summarize avg(x)", "'avg'"),
        ] {
            let e = parse(q).expect_err(q);
            assert!(e.message.contains(needle), "{q}: {e}");
        }
        for q in [
            "",
            "T |",
            "T | where",
            "T | where (a",
            "T | take x",
            "T | where a == 'x",
            "| T",
        ] {
            assert!(parse(q).is_err(), "{q}");
        }
        let deep = format!("T | where {}a{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).is_err());
    }

    proptest! {
        #[test]
        fn random_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn query_like_text_never_panics(s in "[A-Za-z0-9 |'\"(),=<>!~.@_-]{0,160}") {
            let _ = parse(&s);
        }
    }
}
