//! The parser: tokens into a [`Query`].

use super::ast::{Agg, BinOp, Expr, KqlError, Lit, MAX_QUERY, Op, Query, SUPPORTED, err};
use super::lexer::{Tok, lex};

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
