//! Tokens: identifiers, strings, numbers, timespans, punctuation and operators.

use super::ast::{KqlError, err};

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
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

/// The string literal from `b[i]` up to its closing `quote`, with `\n`, `\t` and
/// `\<c>` escapes when `escapes`, and the index after it; `None` when it is not closed.
fn string_literal(
    b: &[(usize, char)],
    mut i: usize,
    quote: char,
    escapes: bool,
) -> Option<(String, usize)> {
    let mut s = String::new();
    loop {
        let ch = b.get(i)?.1;
        i += 1;
        if ch == quote {
            return Some((s, i));
        }
        if escapes && ch == '\\' {
            s.push(match b.get(i)?.1 {
                'n' => '\n',
                't' => '\t',
                e => e,
            });
            i += 1;
        } else {
            s.push(ch);
        }
    }
}

fn unterminated(p: usize) -> impl Fn() -> KqlError {
    move || KqlError {
        position: p,
        message: "unterminated string literal".into(),
    }
}

/// The tokens of a query, each with its byte offset.
pub fn lex(q: &str) -> Result<Vec<(usize, Tok)>, KqlError> {
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
            '|' | ',' | '(' | ')' => {
                let t = match c {
                    '|' => Tok::Pipe,
                    ',' => Tok::Comma,
                    '(' => Tok::LParen,
                    _ => Tok::RParen,
                };
                out.push((p, t));
                i += 1;
            }
            '"' | '\'' => {
                let (text, next) =
                    string_literal(&b, i + 1, c, true).ok_or_else(unterminated(p))?;
                out.push((p, Tok::Str(text)));
                i = next;
            }
            '@' if matches!(at(i + 1), Some('"' | '\'')) => {
                // Verbatim string: no escapes.
                let quote = at(i + 1).unwrap_or('"');
                let (text, next) =
                    string_literal(&b, i + 2, quote, false).ok_or_else(unterminated(p))?;
                out.push((p, Tok::Str(text)));
                i = next;
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
