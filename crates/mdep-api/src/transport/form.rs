//! Request bodies: JSON, or a `multipart/form-data` form (RFC 7578) of text fields and
//! file parts. A form's boundary is fixed when it is built and its encoding depends on
//! nothing else, so every attempt of a call sends the same bytes.

use serde_json::Value;

/// What a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// A JSON document (`Content-Type: application/json`).
    Json(&'a Value),
    /// A multipart form, already encoded.
    Form(&'a Multipart),
}

/// A `multipart/form-data` body, built part by part.
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    parts: Vec<(Header, Vec<u8>)>,
}

#[derive(Debug, Clone)]
struct Header {
    name: String,
    filename: Option<String>,
}

/// A name or file name as a quoted `Content-Disposition` parameter: quotes and line
/// breaks would end the header early, so they are percent-encoded (as browsers do).
fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}

impl Multipart {
    /// An empty form with a random boundary.
    pub fn new() -> Self {
        let boundary = format!("mdep-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        Self {
            boundary,
            parts: Vec::new(),
        }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.push(name, None, value.as_bytes().to_vec());
        self
    }

    /// Adds a file part (`Content-Type: application/octet-stream`).
    pub fn file(mut self, name: &str, filename: &str, bytes: Vec<u8>) -> Self {
        self.push(name, Some(filename.to_owned()), bytes);
        self
    }

    fn push(&mut self, name: &str, filename: Option<String>, data: Vec<u8>) {
        self.parts.push((
            Header {
                name: name.to_owned(),
                filename,
            },
            data,
        ));
        // The boundary must occur in no part: a new one until it does not.
        while self
            .parts
            .iter()
            .any(|(_, d)| contains(d, self.boundary.as_bytes()))
        {
            self.boundary = format!("mdep-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        }
    }

    /// `multipart/form-data; boundary=…`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The encoded body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (h, data) in &self.parts {
            out.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
            let mut disposition = format!(
                "Content-Disposition: form-data; name=\"{}\"",
                quoted(&h.name)
            );
            if let Some(f) = &h.filename {
                disposition.push_str(&format!("; filename=\"{}\"", quoted(f)));
                disposition.push_str("\r\nContent-Type: application/octet-stream");
            }
            out.extend_from_slice(disposition.as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        out
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_encodes_its_parts_between_boundaries() {
        let f = Multipart::new()
            .file("file", "a\"b.ps1", b"Write-Host 1".to_vec())
            .text("Description", "line one\r\nline two");
        let b = String::from_utf8(f.to_bytes()).expect("utf8");
        let boundary = f.content_type().rsplit('=').next().expect("b").to_owned();
        assert_eq!(
            b,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%22b.ps1\"\r\nContent-Type: application/octet-stream\r\n\r\nWrite-Host 1\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"Description\"\r\n\r\nline one\r\nline two\r\n--{boundary}--\r\n"
            )
        );
        assert_eq!(f.to_bytes(), f.to_bytes(), "the same bytes every time");
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part() {
        let first = Multipart::new();
        let clash = format!(
            "x--{}y",
            first.content_type().rsplit('=').next().expect("b")
        );
        let f = first.text("t", &clash);
        assert!(!clash.contains(f.content_type().rsplit('=').next().expect("b")));
    }
}
