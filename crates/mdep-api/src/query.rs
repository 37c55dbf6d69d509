//! OData query options (`$filter`, `$top`, `$skip`, `$expand`, `$select`, `$orderby`),
//! with filters built on [`mdep_model::odata::Filter`] so what is sent is what was meant.

use mdep_model::odata::{CompareOp, Filter, FilterError, Literal};

/// The query options of one list call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// `$filter`.
    pub filter: Option<Filter>,
    /// `$top`: how many items in all (the pager splits it into pages).
    pub top: Option<u64>,
    /// `$skip`: where to start.
    pub skip: Option<u64>,
    /// `$expand` (MDE documents `evidence` on alerts).
    pub expand: Vec<String>,
    /// `$select`.
    pub select: Vec<String>,
    /// `$orderby`.
    pub orderby: Option<String>,
}

impl Query {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition, joined to any present with `and`.
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(prev) => Filter::And(Box::new(prev), Box::new(f)),
            None => f,
        });
        self
    }

    /// Adds a condition written in OData syntax, checked by the parser first.
    pub fn filter_str(self, text: &str) -> Result<Self, FilterError> {
        Ok(self.filter(Filter::parse(text)?))
    }

    /// `$top`.
    pub fn top(mut self, n: u64) -> Self {
        self.top = Some(n);
        self
    }

    /// `$skip`.
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = Some(n);
        self
    }

    /// `$expand`.
    pub fn expand(mut self, what: &str) -> Self {
        self.expand.push(what.to_owned());
        self
    }

    /// `$select`.
    pub fn select(mut self, fields: &[&str]) -> Self {
        self.select.extend(fields.iter().map(|s| (*s).to_owned()));
        self
    }

    /// `$orderby`.
    pub fn orderby(mut self, by: &str) -> Self {
        self.orderby = Some(by.to_owned());
        self
    }

    /// The options as `(name, value)` pairs, unencoded, in a stable order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            out.push(("$filter".to_owned(), f.to_string()));
        }
        if !self.expand.is_empty() {
            out.push(("$expand".to_owned(), self.expand.join(",")));
        }
        if !self.select.is_empty() {
            out.push(("$select".to_owned(), self.select.join(",")));
        }
        if let Some(o) = &self.orderby {
            out.push(("$orderby".to_owned(), o.clone()));
        }
        if let Some(n) = self.top {
            out.push(("$top".to_owned(), n.to_string()));
        }
        if let Some(n) = self.skip {
            out.push(("$skip".to_owned(), n.to_string()));
        }
        out
    }
}

/// `path op 'text'`.
pub fn cmp_str(path: &str, op: CompareOp, value: &str) -> Filter {
    Filter::Compare {
        path: path.to_owned(),
        op,
        value: Literal::String(value.to_owned()),
    }
}

/// `path op 2024-01-01T00:00:00Z` (unquoted, as MDE's examples write date-times).
pub fn cmp_time(path: &str, op: CompareOp, at: time::OffsetDateTime) -> Filter {
    let text = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Filter::Compare {
        path: path.to_owned(),
        op,
        value: Literal::DateTime(text),
    }
}

/// Reads `24h`, `30m`, `7d`, `90s` as a duration.
pub fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}': give a unit, as in 24h, 30m, 7d"))?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{text}': expected a number then s, m, h or d"))?;
    let secs = match unit {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (s, m, h or d)")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_join_with_and_and_render_as_odata() {
        let q = Query::new()
            .filter(cmp_str("severity", CompareOp::Eq, "High"))
            .filter(cmp_str("status", CompareOp::Ne, "Resolved"))
            .top(50)
            .expand("evidence");
        assert_eq!(
            q.pairs(),
            vec![
                (
                    "$filter".to_owned(),
                    "severity eq 'High' and status ne 'Resolved'".to_owned()
                ),
                ("$expand".to_owned(), "evidence".to_owned()),
                ("$top".to_owned(), "50".to_owned()),
            ]
        );
    }

    #[test]
    fn quotes_in_values_are_doubled() {
        let f = cmp_str("computerDnsName", CompareOp::Eq, "o'brien-pc");
        assert_eq!(f.to_string(), "computerDnsName eq 'o''brien-pc'");
    }

    #[test]
    fn text_filters_are_parsed_first() {
        assert!(Query::new().filter_str("severity eq").is_err());
        let q = Query::new()
            .filter_str("startswith(computerDnsName,'web')")
            .expect("parses")
            .filter(cmp_time(
                "alertCreationTime",
                CompareOp::Ge,
                time::macros::datetime!(2026-11-25 05:00:00.123 UTC),
            ));
        assert_eq!(
            q.pairs()[0].1,
            "startswith(computerDnsName, 'web') and alertCreationTime ge 2026-11-25T05:00:00Z"
        );
    }

    #[test]
    fn since_takes_units() {
        assert_eq!(
            parse_since("24h"),
            Ok(std::time::Duration::from_secs(86_400))
        );
        assert_eq!(parse_since("30m"), Ok(std::time::Duration::from_secs(1800)));
        assert_eq!(
            parse_since("7d"),
            Ok(std::time::Duration::from_secs(604_800))
        );
        assert!(parse_since("24").is_err());
        assert!(parse_since("3w").is_err());
    }
}
