//! The static types of expressions, checked before a query runs.

use super::kql::{Expr, Lit};
use super::value::{Ty, bad, time_of, unresolved};
use crate::request::error::{MdeError, truncate};

/// Static type of an expression over `cols`.
pub fn type_of(e: &Expr, cols: &[(String, Ty)]) -> Result<Ty, MdeError> {
    Ok(match e {
        Expr::Col(c) => cols
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, t)| *t)
            .ok_or_else(|| unresolved(c))?,
        Expr::Lit(l) => match l {
            Lit::Null | Lit::Str(_) => Ty::Str,
            Lit::Int(_) => Ty::Int,
            Lit::Real(_) => Ty::Real,
            Lit::Bool(_) => Ty::Bool,
            Lit::Span(_) => Ty::Span,
            Lit::Time(s) => {
                if time_of(s).is_none() {
                    return Err(bad(format!(
                        "'{}' is not a valid datetime literal.",
                        truncate(s)
                    )));
                }
                Ty::Time
            }
        },
        Expr::Bin(a, _, b) => {
            type_of(a, cols)?;
            type_of(b, cols)?;
            Ty::Bool
        }
        Expr::In { expr, list, .. } => {
            type_of(expr, cols)?;
            for x in list {
                type_of(x, cols)?;
            }
            Ty::Bool
        }
        Expr::Call(name, args) => {
            let arity = |n: usize| -> Result<(), MdeError> {
                if args.len() == n {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "Function '{name}' expects {n} argument(s), got {}.",
                        args.len()
                    )))
                }
            };
            let mut tys = Vec::new();
            for a in args {
                tys.push(type_of(a, cols)?);
            }
            match name.as_str() {
                "ago" => {
                    arity(1)?;
                    Ty::Time
                }
                "now" => {
                    arity(0)?;
                    Ty::Time
                }
                "tolower" | "toupper" | "tostring" => {
                    arity(1)?;
                    Ty::Str
                }
                "strlen" | "tolong" | "toint" => {
                    arity(1)?;
                    Ty::Int
                }
                "isempty" | "isnotempty" | "isnull" | "isnotnull" | "not" => {
                    arity(1)?;
                    Ty::Bool
                }
                "bin" => {
                    arity(2)?;
                    tys[0]
                }
                other => {
                    return Err(bad(format!(
                        "Failed to resolve scalar function named '{}': the emulator's KQL subset has ago, now, tolower, toupper, tostring, strlen, tolong, isempty, isnotempty, isnull, isnotnull, not, bin.",
                        truncate(other)
                    )));
                }
            }
        }
    })
}
