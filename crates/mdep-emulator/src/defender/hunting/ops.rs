//! A query run as its table through each operator in turn.

use super::eval::{Ctx, aggregate};
use super::kql::{self, Agg, Expr, Op};
use super::tables::table;
use super::typing::type_of;
use super::value::{MAX_ROWS, Table, Ty, V, bad, sort_cmp};
use crate::defender::data::TenantData;
use crate::request::error::{MdeError, truncate};
use std::cmp::Ordering;
use std::collections::HashMap;

fn column_name(name: &Option<String>, e: &Expr, n: usize) -> String {
    match (name, e) {
        (Some(n), _) => n.clone(),
        (None, Expr::Col(c)) => c.clone(),
        (None, Expr::Call(f, args)) if f == "bin" => match args.first() {
            Some(Expr::Col(c)) => c.clone(),
            _ => format!("Column{n}"),
        },
        _ => format!("Column{n}"),
    }
}

fn agg_name(name: &Option<String>, a: &Agg) -> String {
    if let Some(n) = name {
        return n.clone();
    }
    let col = |e: &Expr| match e {
        Expr::Col(c) => c.clone(),
        _ => "expr".into(),
    };
    match a {
        Agg::Count => "count_".into(),
        Agg::DCount(e) => format!("dcount_{}", col(e)),
        Agg::Min(e) => format!("min_{}", col(e)),
        Agg::Max(e) => format!("max_{}", col(e)),
        Agg::Sum(e) => format!("sum_{}", col(e)),
        Agg::CountIf(_) => "countif_".into(),
    }
}

/// Runs a parsed query over a tenant's data.
pub fn run(q: &kql::Query, d: &TenantData, now: i128) -> Result<Table, MdeError> {
    run_in(q, d, now, Some(last_30_days(now)))
}

/// `[now − 30 days, now]`: MDE's advanced hunting sees "data from the last 30 days only"
/// (`mde-api.md`, run-advanced-query limits), and Graph's `Timespan` defaults to it
/// (`graph-security.md`, runHuntingQuery parameters).
pub fn last_30_days(now: i128) -> (i128, i128) {
    (now - 30 * 86_400 * 1_000_000_000, now)
}

/// [`run`] over the rows whose `Timestamp` lies in `window` (`[from, to]`, Unix
/// nanoseconds), when given: Microsoft Graph's `Timespan`.
pub fn run_in(
    q: &kql::Query,
    d: &TenantData,
    now: i128,
    window: Option<(i128, i128)>,
) -> Result<Table, MdeError> {
    let mut t = table(&q.table, d).ok_or_else(|| {
        bad(format!(
            "Failed to resolve table or column expression named '{}'. The emulator has DeviceInfo, AlertInfo, AlertEvidence and DeviceProcessEvents.",
            truncate(&q.table)
        ))
    })?;
    if let Some((from, to)) = window
        && let Some(p) = t.cols.iter().position(|(c, _)| c == "Timestamp")
    {
        t.rows
            .retain(|r| matches!(r.get(p), Some(V::Time(x)) if *x >= from && *x <= to));
    }
    for op in &q.ops {
        t = apply(op, t, now)?;
    }
    t.rows.truncate(MAX_ROWS);
    Ok(t)
}

fn apply(op: &Op, t: Table, now: i128) -> Result<Table, MdeError> {
    let ctx = Ctx { cols: &t.cols, now };
    Ok(match op {
        Op::Where(e) => {
            type_of(e, &t.cols)?;
            let mut rows = Vec::new();
            for r in &t.rows {
                if ctx.truthy(e, r)? {
                    rows.push(r.clone());
                }
            }
            Table {
                cols: t.cols.clone(),
                rows,
            }
        }
        Op::Project(items) | Op::Extend(items) => {
            let extend = matches!(op, Op::Extend(_));
            let mut cols = if extend { t.cols.clone() } else { Vec::new() };
            let mut names = Vec::new();
            for (n, (name, e)) in items.iter().enumerate() {
                let ty = type_of(e, &t.cols)?;
                let cname = column_name(name, e, n + 1);
                match cols.iter().position(|(c, _)| *c == cname) {
                    Some(p) if extend => cols[p].1 = ty,
                    Some(_) => return Err(bad(format!("Column '{cname}' is projected twice."))),
                    None => cols.push((cname.clone(), ty)),
                }
                names.push(cname);
            }
            let mut rows = Vec::with_capacity(t.rows.len());
            for r in &t.rows {
                let mut out = if extend { r.clone() } else { Vec::new() };
                out.resize(cols.len(), V::Null);
                for ((_, e), cname) in items.iter().zip(&names) {
                    let v = ctx.eval(e, r)?;
                    if let Some(p) = cols.iter().position(|(c, _)| c == cname) {
                        out[p] = v;
                    }
                }
                rows.push(out);
            }
            Table { cols, rows }
        }
        Op::Summarize { aggs, by } => {
            let mut cols = Vec::new();
            for (n, (name, e)) in by.iter().enumerate() {
                cols.push((column_name(name, e, n + 1), type_of(e, &t.cols)?));
            }
            for (name, a) in aggs {
                let ty = match a {
                    Agg::Count | Agg::DCount(_) | Agg::CountIf(_) => Ty::Int,
                    Agg::Min(e) | Agg::Max(e) => type_of(e, &t.cols)?,
                    Agg::Sum(e) => match type_of(e, &t.cols)? {
                        Ty::Real => Ty::Real,
                        Ty::Int => Ty::Int,
                        other => {
                            return Err(bad(format!("sum() takes numbers, not {}.", other.name())));
                        }
                    },
                };
                if let Agg::CountIf(p) = a {
                    type_of(p, &t.cols)?;
                }
                cols.push((agg_name(name, a), ty));
            }
            let mut order: Vec<String> = Vec::new();
            let mut groups: HashMap<String, (Vec<V>, Vec<Vec<V>>)> = HashMap::new();
            for r in &t.rows {
                let key: Vec<V> = by
                    .iter()
                    .map(|(_, e)| ctx.eval(e, r))
                    .collect::<Result<_, _>>()?;
                let k = format!("{key:?}");
                let g = groups.entry(k.clone()).or_insert_with(|| {
                    order.push(k);
                    (key, Vec::new())
                });
                g.1.push(r.clone());
            }
            if by.is_empty() && groups.is_empty() {
                order.push(String::new());
                groups.insert(String::new(), (Vec::new(), Vec::new()));
            }
            let mut rows = Vec::new();
            for k in order {
                let Some((key, members)) = groups.remove(&k) else {
                    continue;
                };
                let mut out = key;
                for (_, a) in aggs {
                    out.push(aggregate(&ctx, a, &members)?);
                }
                rows.push(out);
            }
            Table { cols, rows }
        }
        Op::Order(keys) => {
            for (e, _) in keys {
                type_of(e, &t.cols)?;
            }
            let mut keyed: Vec<(Vec<V>, Vec<V>)> = Vec::with_capacity(t.rows.len());
            for r in t.rows {
                let k = keys
                    .iter()
                    .map(|(e, _)| ctx.eval(e, &r))
                    .collect::<Result<_, _>>()?;
                keyed.push((k, r));
            }
            keyed.sort_by(|(a, _), (b, _)| {
                for ((x, y), (_, desc)) in a.iter().zip(b).zip(keys) {
                    let o = sort_cmp(x, y);
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            Table {
                cols: t.cols.clone(),
                rows: keyed.into_iter().map(|(_, r)| r).collect(),
            }
        }
        Op::Take(n) => {
            let mut rows = t.rows;
            rows.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
            Table { cols: t.cols, rows }
        }
        Op::Top(n, e, desc) => {
            let sorted = apply(&Op::Order(vec![(e.clone(), *desc)]), t, now)?;
            apply(&Op::Take(*n), sorted, now)?
        }
        Op::Count => Table {
            cols: vec![("Count".into(), Ty::Int)],
            rows: vec![vec![V::Int(t.rows.len() as i64)]],
        },
        Op::Distinct(names) => {
            let idx: Vec<usize> = names.iter().map(|n| ctx.col(n)).collect::<Result<_, _>>()?;
            let cols: Vec<(String, Ty)> = idx.iter().map(|i| t.cols[*i].clone()).collect();
            let mut seen = std::collections::HashSet::new();
            let mut rows = Vec::new();
            for r in &t.rows {
                let v: Vec<V> = idx
                    .iter()
                    .map(|i| r.get(*i).cloned().unwrap_or(V::Null))
                    .collect();
                if seen.insert(format!("{v:?}")) {
                    rows.push(v);
                }
            }
            Table { cols, rows }
        }
    })
}
