//! A collection page read as its body arrives: `{"@odata.context", "value": [...],
//! "@odata.nextLink"?}` (`mde-api.md` §4.2) is taken apart chunk by chunk, and each item
//! of `value` is decoded into its type as soon as its last byte is in, so a page is never
//! held whole, neither as bytes nor as a list of items: one item and the bytes not yet
//! read are all a tenant holds. The keys around `value` may come in any order (MDE sends
//! `@odata.nextLink` after it, Graph before it); only `@odata.nextLink` is kept.

use serde::de::{DeserializeOwned, IgnoredAny};

/// Where the reader stands in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `{`.
    Open,
    /// Before a key, or the closing `}` (`first`: no key read yet).
    Key { first: bool },
    /// Inside `value`, before an item or the closing `]` (`first`: no item read yet).
    Items { first: bool },
    /// After the closing `}`.
    End,
}

/// What the next call found.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// The next item of `value`.
    Item(T),
    /// The bytes so far end inside a value: push more.
    NeedMore,
    /// The page is read to its closing `}`.
    End,
}

/// A page being read; `push` the body's chunks and take items with `next`.
#[derive(Debug)]
pub(crate) struct PageReader {
    buf: Vec<u8>,
    pos: usize,
    state: State,
    eof: bool,
    next_link: Option<String>,
}

/// How one value of the page parsed.
enum Parsed<T> {
    Value(T, usize),
    NeedMore,
}

impl Default for PageReader {
    fn default() -> Self {
        Self::new()
    }
}

impl PageReader {
    /// A reader before the page's first byte.
    pub(crate) fn new() -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            state: State::Open,
            eof: false,
            next_link: None,
        }
    }

    /// Appends a chunk of the body, first dropping what is read when that is most of
    /// the buffer (so it stays about one chunk and one item long).
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The body has ended: a value cut short is now an error, not [`Step::NeedMore`].
    pub(crate) fn finish(&mut self) {
        self.eof = true;
    }

    /// Takes the link to the next page (`None` when the page names none).
    pub(crate) fn take_next_link(&mut self) -> Option<String> {
        self.next_link.take()
    }

    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.buf.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    /// One JSON value at `pos`, as `T`. A value that reaches the very end of the bytes
    /// so far may be cut short (a number, `true`): it counts as complete only at EOF.
    fn parse<T: DeserializeOwned>(&self) -> Result<Parsed<T>, String> {
        let rest = &self.buf[self.pos..];
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
        match values.next() {
            Some(Ok(v)) => {
                let end = values.byte_offset();
                if end == rest.len() && !self.eof {
                    Ok(Parsed::NeedMore)
                } else {
                    Ok(Parsed::Value(v, self.pos + end))
                }
            }
            Some(Err(e)) if e.is_eof() && !self.eof => Ok(Parsed::NeedMore),
            Some(Err(e)) => Err(e.to_string()),
            None if self.eof => Err("the page ends before its value does".into()),
            None => Ok(Parsed::NeedMore),
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.buf.get(self.pos) {
            Some(&b) => format!(
                "expected {what} at byte {} of what is left of the page, found {:?}",
                self.pos,
                char::from(b)
            ),
            None => format!("the page ends where {what} was expected"),
        }
    }

    /// The next item, or what the reader needs to get to it.
    pub(crate) fn next<T: DeserializeOwned>(&mut self) -> Result<Step<T>, String> {
        loop {
            let Some(b) = self.skip_ws() else {
                // Past the closing `}`, the body must still end (nothing but white space
                // may follow it).
                if self.state == State::End && self.eof {
                    return Ok(Step::End);
                }
                return if self.eof {
                    Err(self.unexpected("the rest of the page"))
                } else {
                    Ok(Step::NeedMore)
                };
            };
            match self.state {
                State::End => return Err(self.unexpected("nothing after the page")),
                State::Open => {
                    if b != b'{' {
                        return Err(self.unexpected("a JSON object"));
                    }
                    self.pos += 1;
                    self.state = State::Key { first: true };
                }
                State::Key { first } => {
                    let start = self.pos;
                    if b == b'}' {
                        self.pos += 1;
                        self.state = State::End;
                        continue;
                    }
                    if !first {
                        if b != b',' {
                            return Err(self.unexpected("',' or '}'"));
                        }
                        self.pos += 1;
                        if self.skip_ws().is_none() {
                            self.pos = start;
                            return self.more();
                        }
                    }
                    match self.key_and_value()? {
                        Some(()) => {}
                        None => {
                            self.pos = start;
                            return self.more();
                        }
                    }
                }
                State::Items { first } => {
                    let start = self.pos;
                    if b == b']' {
                        self.pos += 1;
                        self.state = State::Key { first: false };
                        continue;
                    }
                    if !first {
                        if b != b',' {
                            return Err(self.unexpected("',' or ']'"));
                        }
                        self.pos += 1;
                        if self.skip_ws().is_none() {
                            self.pos = start;
                            return self.more();
                        }
                    }
                    match self.parse::<T>()? {
                        Parsed::Value(item, end) => {
                            self.pos = end;
                            self.state = State::Items { first: false };
                            return Ok(Step::Item(item));
                        }
                        Parsed::NeedMore => {
                            self.pos = start;
                            return self.more();
                        }
                    }
                }
            }
        }
    }

    fn more<T>(&self) -> Result<Step<T>, String> {
        if self.eof {
            Err(self.unexpected("the rest of the page"))
        } else {
            Ok(Step::NeedMore)
        }
    }

    /// A `"key": value` pair at `pos`; `None` when its bytes are not all in yet (and
    /// `pos` is left for the caller to rewind). `value` opens the item list.
    fn key_and_value(&mut self) -> Result<Option<()>, String> {
        if self.buf.get(self.pos) != Some(&b'"') {
            return Err(self.unexpected("a key"));
        }
        let key: String = match self.parse()? {
            Parsed::Value(k, end) => {
                self.pos = end;
                k
            }
            Parsed::NeedMore => return Ok(None),
        };
        match self.skip_ws() {
            Some(b':') => self.pos += 1,
            Some(_) => return Err(self.unexpected("':'")),
            None if self.eof => return Err(self.unexpected("':'")),
            None => return Ok(None),
        }
        let Some(b) = self.skip_ws() else {
            return if self.eof {
                Err(self.unexpected("a value"))
            } else {
                Ok(None)
            };
        };
        match key.as_str() {
            "value" if b == b'[' => {
                self.pos += 1;
                self.state = State::Items { first: true };
            }
            "value" if b == b'n' => {
                // `"value": null`: no items.
                match self.parse::<IgnoredAny>()? {
                    Parsed::Value(_, end) => self.pos = end,
                    Parsed::NeedMore => return Ok(None),
                }
                self.state = State::Key { first: false };
            }
            "value" => return Err(self.unexpected("the list of items")),
            "@odata.nextLink" => {
                match self.parse::<Option<String>>()? {
                    Parsed::Value(link, end) => {
                        self.pos = end;
                        self.next_link = link;
                    }
                    Parsed::NeedMore => return Ok(None),
                }
                self.state = State::Key { first: false };
            }
            _ => {
                match self.parse::<IgnoredAny>()? {
                    Parsed::Value(_, end) => self.pos = end,
                    Parsed::NeedMore => return Ok(None),
                }
                self.state = State::Key { first: false };
            }
        }
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Every item and the nextLink of `body` pushed in chunks of `size` bytes.
    fn read(body: &[u8], size: usize) -> Result<(Vec<Value>, Option<String>), String> {
        let mut r = PageReader::new();
        let mut chunks = body.chunks(size.max(1));
        let mut items = Vec::new();
        loop {
            match r.next::<Value>()? {
                Step::Item(v) => items.push(v),
                Step::NeedMore => match chunks.next() {
                    Some(c) => r.push(c),
                    None => r.finish(),
                },
                Step::End => {
                    assert!(chunks.next().is_none(), "items after the end");
                    return Ok((items, r.take_next_link()));
                }
            }
        }
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_items_and_link() {
        // MDE's order (nextLink last) and Graph's (nextLink and count first), numbers,
        // escapes and nested values, whitespace everywhere it may stand.
        let items = json!([
            {"id": "da1", "n": 12345, "t": true, "s": "a \"quoted\" \\ \u{e9} \n", "x": [1, {"y": null}]},
            {"id": "da2", "n": -1.5e3, "t": false, "s": "", "x": []},
            {"id": "da3"}
        ]);
        let mde = format!(
            "{{\"@odata.context\":\"https://api/$metadata#Alerts\",\"value\":{items},\"@odata.nextLink\":\"https://api/next?$skip=3\"}}"
        );
        let graph = format!(
            " {{ \"@odata.count\" : 3 ,\n \"@odata.nextLink\" : \"https://api/next?$skip=3\" , \"value\" : {items:#} }} \n"
        );
        for body in [mde, graph] {
            for size in 1..=body.len() {
                let (got, link) =
                    read(body.as_bytes(), size).unwrap_or_else(|e| panic!("{size}: {e}"));
                assert_eq!(Value::Array(got), items, "chunks of {size}");
                assert_eq!(
                    link.as_deref(),
                    Some("https://api/next?$skip=3"),
                    "chunks of {size}"
                );
            }
        }
    }

    #[test]
    fn empty_null_and_missing_values_are_no_items() {
        for body in [
            r#"{"value":[]}"#,
            r#"{"value":null}"#,
            r#"{}"#,
            r#"{"@odata.context":"x","@odata.nextLink":null}"#,
        ] {
            for size in 1..=body.len() {
                let (items, link) = read(body.as_bytes(), size).expect(body);
                assert!(items.is_empty(), "{body}");
                assert_eq!(link, None, "{body}");
            }
        }
    }

    #[test]
    fn broken_pages_are_errors_not_items() {
        for body in [
            r#"[{"id":1}]"#,
            r#"{"value":[{"id":1}"#,
            r#"{"value":[{"id":1},]}"#,
            r#"{"value":[{"id":1} {"id":2}]}"#,
            r#"{"value":{"id":1}}"#,
            r#"{"value":[1]"#,
            r#"{"value":[]} trailing"#,
            r#"{"a" 1}"#,
            "",
        ] {
            assert!(
                read(body.as_bytes(), 4).is_err(),
                "{body:?} was read as a page"
            );
        }
    }

    #[test]
    fn a_number_cut_at_a_chunk_end_is_not_read_short() {
        let (items, _) = read(br#"{"value":[12345678]}"#, 12).expect("page");
        assert_eq!(items, vec![json!(12345678)]);
        let mut r = PageReader::new();
        r.push(br#"{"@odata.count":12"#);
        assert!(matches!(r.next::<Value>(), Ok(Step::NeedMore)));
        r.push(br#"3,"value":[]}"#);
        r.finish();
        assert!(matches!(r.next::<Value>(), Ok(Step::End)));
    }

    #[test]
    fn the_buffer_holds_about_one_chunk_not_the_page() {
        let item = json!({"id": "x".repeat(500)}).to_string();
        let body = format!("{{\"value\":[{}]}}", vec![item; 2_000].join(","));
        let mut r = PageReader::new();
        let (mut n, mut most) = (0, 0);
        let mut chunks = body.as_bytes().chunks(16 * 1024);
        loop {
            match r.next::<Value>().expect("page") {
                Step::Item(_) => n += 1,
                Step::NeedMore => match chunks.next() {
                    Some(c) => r.push(c),
                    None => r.finish(),
                },
                Step::End => break,
            }
            most = most.max(r.buf.capacity());
        }
        assert_eq!(n, 2_000);
        assert!(body.len() > 1_000_000);
        assert!(most < 64 * 1024, "the buffer grew to {most} bytes");
    }
}
