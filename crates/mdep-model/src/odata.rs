//! OData `$filter` expressions as the MDE API takes them: the syntax tree, a parser and a
//! renderer, so the emulator evaluates what a client sends and the client side renders
//! what it means to send from the same tree.
//!
//! The subset (`mde-api.md` §4.1 and the method pages): comparisons `eq ne gt ge lt le`,
//! `and`, `or`, `not`, parentheses, `in (…)`, lambda `any()` over collections
//! (`machineTags/any(tag: tag eq 'x')`) and the string functions `startswith`,
//! `endswith` and `contains`. Literals: `'strings'` (with `''` for a quote), integers,
//! decimals, `true`/`false`/`null`, unquoted ISO-8601 date-times and GUIDs.

use std::fmt;

/// Deepest nesting of parentheses and operators accepted; deeper input is an error, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 64;

/// Longest `$filter` accepted, in bytes.
pub const MAX_LEN: usize = 8192;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The operator's keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A string function of two arguments: a property and a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringFunction {
    /// `startswith(p,'x')`
    StartsWith,
    /// `endswith(p,'x')`
    EndsWith,
    /// `contains(p,'x')`
    Contains,
}

impl StringFunction {
    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::StartsWith => "startswith",
            Self::EndsWith => "endswith",
            Self::Contains => "contains",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "startswith" => Self::StartsWith,
            "endswith" => Self::EndsWith,
            "contains" => Self::Contains,
            _ => return None,
        })
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal (finite).
    Float(f64),
    /// A quoted string, unescaped.
    String(String),
    /// An unquoted ISO-8601 date-time, as written (e.g. `2024-01-01T00:00:00Z`).
    DateTime(String),
    /// An unquoted GUID, as written.
    Guid(String),
}

/// A `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `not a`
    Not(Box<Filter>),
    /// `path op literal`
    Compare {
        /// Property path, segments joined by `/` (inside `any()`, the lambda variable
        /// comes first).
        path: String,
        /// Operator.
        op: CompareOp,
        /// Right-hand side.
        value: Literal,
    },
    /// `path in (v1, v2, …)`
    In {
        /// Property path.
        path: String,
        /// Candidate values (at least one).
        values: Vec<Literal>,
    },
    /// `path/any(var: predicate)`, or `path/any()` (non-empty) when `lambda` is `None`.
    Any {
        /// The collection property.
        path: String,
        /// Lambda variable and body.
        lambda: Option<(String, Box<Filter>)>,
    },
    /// `startswith(path,'x')` and friends.
    Function {
        /// Which function.
        function: StringFunction,
        /// Property path.
        path: String,
        /// The string argument.
        value: String,
    },
}

/// A `$filter` that does not parse, with the byte position where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// 0-based byte offset in the input.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Syntax error at position {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Literal),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '@' || c == '$'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '@' | '$')
}

fn looks_like_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b't')
}

fn lex(input: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let err = |position: usize, message: String| FilterError { position, message };
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((pos, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((pos, Tok::RParen));
                i += 1;
            }
            ',' => {
                out.push((pos, Tok::Comma));
                i += 1;
            }
            ':' => {
                out.push((pos, Tok::Colon));
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(pos, "unterminated string literal".into())),
                        Some((_, '\'')) => {
                            if matches!(chars.get(i + 1), Some((_, '\''))) {
                                s.push('\'');
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some((_, ch)) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push((pos, Tok::Lit(Literal::String(s))));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                i += 1;
                while let Some((_, ch)) = chars.get(i) {
                    let ch = *ch;
                    // Exponent signs and date-time offsets continue the token.
                    let sign_ok = (ch == '-' || ch == '+') && i > start;
                    if ch.is_ascii_alphanumeric() || matches!(ch, '.' | ':') || sign_ok {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let end = chars.get(i).map_or(input.len(), |(p, _)| *p);
                let text = &input[pos..end];
                let lit = if let Ok(n) = text.parse::<i64>() {
                    Literal::Int(n)
                } else if looks_like_guid(text) {
                    Literal::Guid(text.to_owned())
                } else if looks_like_datetime(text) {
                    Literal::DateTime(text.to_owned())
                } else if let Some(f) = text.parse::<f64>().ok().filter(|f| {
                    f.is_finite()
                        && !text
                            .chars()
                            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
                }) {
                    Literal::Float(f)
                } else {
                    return Err(err(pos, format!("'{text}' is not a valid literal")));
                };
                out.push((pos, Tok::Lit(lit)));
            }
            c if is_ident_start(c) => {
                let start = i;
                while chars.get(i).is_some_and(|(_, ch)| is_ident_char(*ch)) {
                    i += 1;
                }
                let end = chars.get(i).map_or(input.len(), |(p, _)| *p);
                let text = &input[chars[start].0..end];
                // An unquoted GUID may start with a letter: a-f hex run followed by '-'.
                if chars.get(i).is_some_and(|(_, ch)| *ch == '-') && text.len() == 8 {
                    let mut j = i;
                    while chars
                        .get(j)
                        .is_some_and(|(_, ch)| ch.is_ascii_hexdigit() || *ch == '-')
                    {
                        j += 1;
                    }
                    let gend = chars.get(j).map_or(input.len(), |(p, _)| *p);
                    let g = &input[pos..gend];
                    if looks_like_guid(g) {
                        out.push((pos, Tok::Lit(Literal::Guid(g.to_owned()))));
                        i = j;
                        continue;
                    }
                }
                let tok = match text {
                    "true" => Tok::Lit(Literal::Bool(true)),
                    "false" => Tok::Lit(Literal::Bool(false)),
                    "null" => Tok::Lit(Literal::Null),
                    _ => Tok::Ident(text.to_owned()),
                };
                out.push((pos, tok));
            }
            other => return Err(err(pos, format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(usize, Tok)>,
    i: usize,
    len: usize,
    depth: usize,
    _input: &'a str,
}

impl Parser<'_> {
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |(p, _)| *p)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            position: self.pos(),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(_, t)| t)
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == kw)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|(_, t)| t.clone());
        self.i += 1;
        t
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), FilterError> {
        if self.peek() == Some(want) {
            self.i += 1;
            Ok(())
        } else {
            self.err(format!("expected {what}"))
        }
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("the expression is nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        self.enter()?;
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.i += 1;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.i += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") {
            self.i += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        match self.peek() {
            Some(Tok::Lit(_)) => match self.next() {
                Some(Tok::Lit(l)) => Ok(l),
                _ => self.err("expected a literal"),
            },
            _ => self.err("expected a literal value"),
        }
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        match self.peek() {
            Some(Tok::LParen) => {
                self.i += 1;
                let inner = self.or_expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(inner)
            }
            Some(Tok::Ident(_)) => {
                let start = self.pos();
                let Some(Tok::Ident(name)) = self.next() else {
                    return self.err("expected a property");
                };
                if let Some(function) = StringFunction::from_name(&name)
                    && self.peek() == Some(&Tok::LParen)
                {
                    self.i += 1;
                    let path = self.path()?;
                    self.expect(&Tok::Comma, "','")?;
                    let value = match self.literal()? {
                        Literal::String(s) => s,
                        _ => return self.err(format!("{} takes a string", function.name())),
                    };
                    self.expect(&Tok::RParen, "')'")?;
                    return Ok(Filter::Function {
                        function,
                        path,
                        value,
                    });
                }
                check_path(&name, start)?;
                if let Some(coll) = name.strip_suffix("/any")
                    && self.peek() == Some(&Tok::LParen)
                {
                    self.i += 1;
                    if self.peek() == Some(&Tok::RParen) {
                        self.i += 1;
                        return Ok(Filter::Any {
                            path: coll.to_owned(),
                            lambda: None,
                        });
                    }
                    let var = match self.next() {
                        Some(Tok::Ident(v)) if !v.contains('/') && !is_keyword(&v) => v,
                        _ => {
                            self.i -= 1;
                            return self.err("expected a lambda variable");
                        }
                    };
                    self.expect(&Tok::Colon, "':'")?;
                    let body = self.or_expr()?;
                    self.expect(&Tok::RParen, "')'")?;
                    return Ok(Filter::Any {
                        path: coll.to_owned(),
                        lambda: Some((var, Box::new(body))),
                    });
                }
                match self.next() {
                    Some(Tok::Ident(op)) if op == "in" => {
                        self.expect(&Tok::LParen, "'(' after 'in'")?;
                        let mut values = vec![self.literal()?];
                        while self.peek() == Some(&Tok::Comma) {
                            self.i += 1;
                            values.push(self.literal()?);
                        }
                        self.expect(&Tok::RParen, "')'")?;
                        Ok(Filter::In { path: name, values })
                    }
                    Some(Tok::Ident(op)) => match CompareOp::from_keyword(&op) {
                        Some(op) => {
                            let value = self.literal()?;
                            Ok(Filter::Compare {
                                path: name,
                                op,
                                value,
                            })
                        }
                        None => {
                            self.i -= 1;
                            self.err(format!("'{op}' is not an operator"))
                        }
                    },
                    None => self.err(format!("expected an operator after '{name}'")),
                    Some(_) => {
                        self.i -= 1;
                        self.err(format!("expected an operator after '{name}'"))
                    }
                }
            }
            Some(Tok::Lit(_)) => self.err("expected a property name, found a literal"),
            Some(_) => self.err("expected an expression"),
            None => self.err("the expression ends too early"),
        }
    }

    fn path(&mut self) -> Result<String, FilterError> {
        let start = self.pos();
        match self.next() {
            Some(Tok::Ident(p)) if !is_keyword(&p) => {
                check_path(&p, start)?;
                Ok(p)
            }
            _ => {
                self.i = self.i.saturating_sub(1);
                self.err("expected a property name")
            }
        }
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "and" | "or" | "not" | "in" | "eq" | "ne" | "gt" | "ge" | "lt" | "le"
    )
}

fn check_path(p: &str, position: usize) -> Result<(), FilterError> {
    if is_keyword(p) || p.split('/').any(str::is_empty) {
        return Err(FilterError {
            position,
            message: format!("'{p}' is not a property path"),
        });
    }
    Ok(())
}

impl Filter {
    /// Parses a `$filter` value (already URL-decoded).
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        if input.len() > MAX_LEN {
            return Err(FilterError {
                position: MAX_LEN,
                message: format!("the filter is longer than {MAX_LEN} bytes"),
            });
        }
        let toks = lex(input)?;
        let mut p = Parser {
            toks,
            i: 0,
            len: input.len(),
            depth: 0,
            _input: input,
        };
        if p.peek().is_none() {
            return p.err("the filter is empty");
        }
        let f = p.or_expr()?;
        if p.peek().is_some() {
            return p.err("unexpected text after the end of the expression");
        }
        Ok(f)
    }

    /// Every property path the filter names (for `any()`, the collection; paths inside a
    /// lambda are relative to the element and are not listed).
    pub fn paths(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Self::Or(a, b) | Self::And(a, b) => {
                a.collect_paths(out);
                b.collect_paths(out);
            }
            Self::Not(a) => a.collect_paths(out),
            Self::Compare { path, .. }
            | Self::In { path, .. }
            | Self::Any { path, .. }
            | Self::Function { path, .. } => out.push(path),
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Self::Or(..) => 1,
            Self::And(..) => 2,
            _ => 3,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, child: &Filter, min: u8) -> fmt::Result {
        if child.precedence() < min {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(n) => write!(f, "{n}"),
            Self::Float(x) => {
                let s = format!("{x:?}");
                f.write_str(&s)
            }
            Self::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Self::DateTime(s) | Self::Guid(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or(a, b) => {
                self.write_child(f, a, 1)?;
                f.write_str(" or ")?;
                // Right operand of the same precedence is bracketed: parsing is left-assoc.
                self.write_child(f, b, 2)
            }
            Self::And(a, b) => {
                self.write_child(f, a, 2)?;
                f.write_str(" and ")?;
                self.write_child(f, b, 3)
            }
            Self::Not(a) => {
                f.write_str("not ")?;
                self.write_child(f, a, 3)
            }
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.keyword()),
            Self::In { path, values } => {
                write!(f, "{path} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Self::Any { path, lambda } => match lambda {
                None => write!(f, "{path}/any()"),
                Some((var, body)) => write!(f, "{path}/any({var}: {body})"),
            },
            Self::Function {
                function,
                path,
                value,
            } => write!(
                f,
                "{}({path}, {})",
                function.name(),
                Literal::String(value.clone())
            ),
        }
    }
}

#[cfg(test)]
mod tests;
