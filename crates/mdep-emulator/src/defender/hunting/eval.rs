//! Expressions and aggregates evaluated over rows.

use super::kql::{Agg, BinOp, Expr, Lit};
use super::value::{Ty, V, bad, cmp, sort_cmp, text, time_of, unresolved};
use crate::request::error::{MdeError, truncate};
use std::cmp::Ordering;

fn has_term(hay: &str, needle: &str) -> bool {
    let hay = hay.to_lowercase();
    let needle = needle.to_lowercase();
    if needle.chars().any(|c| !c.is_alphanumeric()) {
        return hay.contains(&needle);
    }
    hay.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == needle)
}

pub struct Ctx<'a> {
    pub cols: &'a [(String, Ty)],
    pub now: i128,
}

impl Ctx<'_> {
    pub fn col(&self, name: &str) -> Result<usize, MdeError> {
        self.cols
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| unresolved(name))
    }

    pub fn eval(&self, e: &Expr, row: &[V]) -> Result<V, MdeError> {
        Ok(match e {
            Expr::Col(c) => row.get(self.col(c)?).cloned().unwrap_or(V::Null),
            Expr::Lit(l) => match l {
                Lit::Null => V::Null,
                Lit::Str(s) => V::Str(s.clone()),
                Lit::Int(n) => V::Int(*n),
                Lit::Real(x) => V::Real(*x),
                Lit::Bool(b) => V::Bool(*b),
                Lit::Span(n) => V::Span(*n),
                Lit::Time(s) => time_of(s).map_or(V::Null, V::Time),
            },
            Expr::Bin(a, BinOp::And, b) => V::Bool(self.truthy(a, row)? && self.truthy(b, row)?),
            Expr::Bin(a, BinOp::Or, b) => V::Bool(self.truthy(a, row)? || self.truthy(b, row)?),
            Expr::Bin(a, op, b) => {
                let (x, y) = (self.eval(a, row)?, self.eval(b, row)?);
                let (tx, ty) = (text(&x), text(&y));
                let lower = |s: &Option<String>| s.as_deref().map(str::to_lowercase);
                V::Bool(match op {
                    BinOp::Eq => cmp(&x, &y) == Some(Ordering::Equal),
                    BinOp::Ne => cmp(&x, &y) != Some(Ordering::Equal),
                    BinOp::Lt => cmp(&x, &y) == Some(Ordering::Less),
                    BinOp::Le => matches!(cmp(&x, &y), Some(Ordering::Less | Ordering::Equal)),
                    BinOp::Gt => cmp(&x, &y) == Some(Ordering::Greater),
                    BinOp::Ge => matches!(cmp(&x, &y), Some(Ordering::Greater | Ordering::Equal)),
                    BinOp::EqCi => tx.is_some() && lower(&tx) == lower(&ty),
                    BinOp::NeCi => lower(&tx) != lower(&ty),
                    BinOp::Contains => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.contains(&n))
                    }
                    BinOp::NotContains => {
                        !matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.contains(&n))
                    }
                    BinOp::ContainsCs => {
                        matches!((&tx, &ty), (Some(h), Some(n)) if h.contains(n.as_str()))
                    }
                    BinOp::StartsWith => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.starts_with(&n))
                    }
                    BinOp::EndsWith => {
                        matches!((lower(&tx), lower(&ty)), (Some(h), Some(n)) if h.ends_with(&n))
                    }
                    BinOp::Has => matches!((&tx, &ty), (Some(h), Some(n)) if has_term(h, n)),
                    BinOp::NotHas => !matches!((&tx, &ty), (Some(h), Some(n)) if has_term(h, n)),
                    BinOp::And | BinOp::Or => false,
                })
            }
            Expr::In {
                expr,
                list,
                negated,
                case_insensitive,
            } => {
                let x = self.eval(expr, row)?;
                let mut found = false;
                for item in list {
                    let y = self.eval(item, row)?;
                    let eq = if *case_insensitive {
                        text(&x).map(|s| s.to_lowercase()) == text(&y).map(|s| s.to_lowercase())
                    } else {
                        cmp(&x, &y) == Some(Ordering::Equal)
                    };
                    if eq {
                        found = true;
                        break;
                    }
                }
                V::Bool(found != *negated)
            }
            Expr::Call(name, args) => {
                let arg = |n: usize| -> Result<V, MdeError> {
                    args.get(n).map_or(Ok(V::Null), |a| self.eval(a, row))
                };
                match name.as_str() {
                    "ago" => match arg(0)? {
                        V::Span(n) => V::Time(self.now - n),
                        _ => return Err(bad("ago() takes a timespan, such as ago(7d).")),
                    },
                    "now" => V::Time(self.now),
                    "tolower" => text(&arg(0)?).map_or(V::Null, |s| V::Str(s.to_lowercase())),
                    "toupper" => text(&arg(0)?).map_or(V::Null, |s| V::Str(s.to_uppercase())),
                    "tostring" => V::Str(text(&arg(0)?).unwrap_or_default()),
                    "strlen" => V::Int(text(&arg(0)?).map_or(0, |s| s.chars().count() as i64)),
                    "tolong" | "toint" => match arg(0)? {
                        V::Int(n) => V::Int(n),
                        V::Real(x) => V::Int(x as i64),
                        V::Str(s) => s.trim().parse().map_or(V::Null, V::Int),
                        _ => V::Null,
                    },
                    "isempty" => V::Bool(text(&arg(0)?).is_none_or(|s| s.is_empty())),
                    "isnotempty" => V::Bool(text(&arg(0)?).is_some_and(|s| !s.is_empty())),
                    "isnull" => V::Bool(arg(0)? == V::Null),
                    "isnotnull" => V::Bool(arg(0)? != V::Null),
                    "not" => V::Bool(
                        !self.truthy(args.first().unwrap_or(&Expr::Lit(Lit::Bool(false))), row)?,
                    ),
                    "bin" => match (arg(0)?, arg(1)?) {
                        (V::Time(t), V::Span(n)) if n > 0 => V::Time(t.div_euclid(n) * n),
                        (V::Int(x), V::Int(n)) if n > 0 => V::Int(x.div_euclid(n) * n),
                        (V::Real(x), V::Real(n)) if n > 0.0 => V::Real((x / n).floor() * n),
                        (V::Null, _) => V::Null,
                        _ => {
                            return Err(bad(
                                "bin() takes a value and a positive bin size of the same kind, such as bin(Timestamp, 1d).",
                            ));
                        }
                    },
                    other => return Err(bad(format!("Unknown function '{}'.", truncate(other)))),
                }
            }
        })
    }

    pub fn truthy(&self, e: &Expr, row: &[V]) -> Result<bool, MdeError> {
        Ok(matches!(self.eval(e, row)?, V::Bool(true)))
    }
}

pub fn aggregate(ctx: &Ctx<'_>, a: &Agg, rows: &[Vec<V>]) -> Result<V, MdeError> {
    Ok(match a {
        Agg::Count => V::Int(rows.len() as i64),
        Agg::CountIf(p) => {
            let mut n = 0;
            for r in rows {
                if ctx.truthy(p, r)? {
                    n += 1;
                }
            }
            V::Int(n)
        }
        Agg::DCount(e) => {
            let mut seen = std::collections::HashSet::new();
            for r in rows {
                let v = ctx.eval(e, r)?;
                if v != V::Null {
                    seen.insert(format!("{v:?}"));
                }
            }
            V::Int(seen.len() as i64)
        }
        Agg::Min(e) | Agg::Max(e) => {
            let mut best: Option<V> = None;
            for r in rows {
                let v = ctx.eval(e, r)?;
                if v == V::Null {
                    continue;
                }
                let better = best.as_ref().is_none_or(|b| {
                    let o = sort_cmp(&v, b);
                    if matches!(a, Agg::Min(_)) {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    }
                });
                if better {
                    best = Some(v);
                }
            }
            best.unwrap_or(V::Null)
        }
        Agg::Sum(e) => {
            let (mut int, mut real, mut is_real) = (0i64, 0f64, false);
            for r in rows {
                match ctx.eval(e, r)? {
                    V::Int(n) => {
                        int = int.saturating_add(n);
                        real += n as f64;
                    }
                    V::Real(x) => {
                        is_real = true;
                        real += x;
                    }
                    _ => {}
                }
            }
            if is_real { V::Real(real) } else { V::Int(int) }
        }
    })
}
