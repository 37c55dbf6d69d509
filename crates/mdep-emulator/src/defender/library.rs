//! The live response library (`mde-api.md` §4.5, `list-library-files.md`,
//! `upload-library.md`, `delete-library.md`): `GET /api/libraryfiles`,
//! `POST /api/libraryfiles` (a `multipart/form-data` upload of `file` with
//! `Description`, `ParametersDescription`, `HasParameters` and `OverrideIfExists`) and
//! `DELETE /api/libraryfiles/{fileName}`, all `Library.Manage`. Live response's
//! `RunScript` runs only scripts of the library ([`has`]).

use super::data::{TenantData, read, write};
use super::generate::ts7;
use crate::request::call::Call;
use crate::request::error::{MdeError, truncate};
use crate::request::mde::{ApiResult, Mde};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use time::OffsetDateTime;

/// The role of every library call.
pub const MANAGE: &[&str] = &["Library.Manage"];

/// Whether the tenant's library holds `name` (file names compare without case, as on
/// Windows).
pub fn has(d: &TenantData, name: &str) -> bool {
    d.library.iter().any(|f| {
        f["fileName"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// `GET /api/libraryfiles`.
pub async fn list(call: Call<Mde>) -> ApiResult {
    call.require(MANAGE)?;
    let data = call.data()?;
    let d = read(&data);
    Ok(call.all("LibraryFiles", d.library.clone()))
}

/// One part of a `multipart/form-data` body: its name, file name and content.
struct Part<'a> {
    name: String,
    filename: Option<String>,
    data: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn disposition(headers: &str, key: &str) -> Option<String> {
    let line = headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    line.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of a `multipart/form-data` body (RFC 7578), or why it is not one.
fn parts<'a>(headers: &HeaderMap, body: &'a [u8]) -> Result<Vec<Part<'a>>, MdeError> {
    let bad = |m: &str| MdeError::invalid_body(format!("Request body is incorrect: {m}"));
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(bad("upload the file as multipart/form-data."));
    }
    let boundary = ct
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| bad("the multipart Content-Type has no boundary."))?;
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    let mut at = find(body, delim.as_bytes(), 0).ok_or_else(|| bad("no multipart part."))?;
    loop {
        let start = at + delim.len();
        if body.get(start..start + 2) == Some(b"--") {
            return Ok(out);
        }
        let head_end =
            find(body, b"\r\n\r\n", start).ok_or_else(|| bad("a part without headers."))?;
        let head = String::from_utf8_lossy(&body[start..head_end]).into_owned();
        let next = find(body, format!("\r\n{delim}").as_bytes(), head_end + 4)
            .ok_or_else(|| bad("the multipart body is not closed."))?;
        let name = disposition(&head, "name").ok_or_else(|| bad("a part without a name."))?;
        out.push(Part {
            name,
            filename: disposition(&head, "filename"),
            data: &body[head_end + 4..next],
        });
        at = next + 2;
    }
}

fn flag(parts: &[Part<'_>], name: &str) -> Result<bool, MdeError> {
    match parts.iter().find(|p| p.name == name) {
        None => Ok(false),
        Some(p) => match String::from_utf8_lossy(p.data)
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            other => Err(MdeError::bad(
                "InvalidInput",
                format!("Invalid input {name} '{}': true or false.", truncate(other)),
            )),
        },
    }
}

/// `POST /api/libraryfiles`: 200 with the library file. A name already in the library
/// is refused unless `OverrideIfExists` is true.
pub async fn upload(call: Call<Mde>, headers: HeaderMap, body: Bytes) -> ApiResult {
    call.require(MANAGE)?;
    let parts = parts(&headers, &body)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| MdeError::missing("file"))?;
    let name = file
        .filename
        .as_deref()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned())
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| MdeError::missing("file name"))?;
    let text = |k: &str| {
        parts
            .iter()
            .find(|p| p.name == k)
            .map(|p| String::from_utf8_lossy(p.data).into_owned())
    };
    let description = text("Description").unwrap_or_default();
    let has_parameters = flag(&parts, "HasParameters")?;
    let override_ = flag(&parts, "OverrideIfExists")?;
    let data = call.data()?;
    let mut d = write(&data);
    let existing = d.library.iter().position(|f| {
        f["fileName"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(&name))
    });
    if existing.is_some() && !override_ {
        return Err(MdeError::bad(
            "BadRequest",
            format!(
                "File {} already exists in the library; send OverrideIfExists=true to replace it.",
                truncate(&name)
            ),
        ));
    }
    let now = ts7(OffsetDateTime::now_utc());
    let created = existing
        .map(|i| d.library[i]["creationTime"].clone())
        .unwrap_or_else(|| json!(now));
    let f = json!({
        "fileName": name,
        "sha256": crate::crypto::hex_upper(&crate::crypto::sha256(file.data)).to_ascii_lowercase(),
        "description": description,
        "creationTime": created,
        "lastUpdatedTime": now,
        "createdBy": call.caller.app.to_string(),
        "hasParameters": has_parameters,
        "parametersDescription": text("ParametersDescription"),
    });
    d.put_library(&call.state.emu, f.clone())?;
    Ok(call.ok("LibraryFiles/$entity", f))
}

/// `DELETE /api/libraryfiles/{fileName}`: 204, or 404.
pub async fn delete(call: Call<Mde>, Path(name): Path<String>) -> ApiResult {
    call.require(MANAGE)?;
    let data = call.data()?;
    let mut d = write(&data);
    if !has(&d, &name) {
        return Err(MdeError::not_found("Library file", &name));
    }
    d.delete_library(&call.state.emu, &name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
