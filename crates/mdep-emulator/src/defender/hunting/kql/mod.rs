//! The KQL subset of the emulator's advanced hunting: a lexer and parser into a small
//! tree. Tabular operators: `where` (`filter`), `project`, `extend`, `summarize … by …`,
//! `order by`/`sort by`, `take`/`limit`, `top N by`, `count`, `distinct`. Scalar
//! expressions: comparisons (`== != < <= > >= =~ !~`), string operators (`contains`,
//! `!contains`, `contains_cs`, `startswith`, `endswith`, `has`, `!has`), `in`/`!in`/`in~`,
//! `and`/`or`/`not()`, literals (strings, numbers, `true`/`false`, timespans such as `7d`,
//! `datetime(…)`), and the functions `ago`, `now`, `tolower`, `toupper`, `strlen`,
//! `isempty`, `isnotempty`, `isnull`, `isnotnull`, `tostring`, `tolong`, `bin`.

mod ast;
mod lexer;
mod parser;

pub use ast::{Agg, BinOp, Expr, KqlError, Lit, MAX_QUERY, Op, Query, SUPPORTED};
pub use parser::parse;

#[cfg(test)]
mod tests;
