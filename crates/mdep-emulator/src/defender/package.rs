//! Investigation packages (`mde-api.md` §4.5): `GET /api/machineactions/{id}/getPackageUri`
//! answers `{"value": "<SAS URL>"}` for a `CollectInvestigationPackage` action that has
//! succeeded (404 before), and the link serves a ZIP made from the device's data at
//! `/investigation-package/{tenant}/{action}`, signed as live response result links are.

use super::data::{action_view, read};
use super::live::{denied, linked_action, signed_link};
use crate::AppState;
use crate::request::call::Call;
use crate::request::error::MdeError;
use crate::request::mde::{ApiResult, Mde};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// `GET /api/machineactions/{id}/getPackageUri` (`get-package-sas-uri.md`): Machine.Read.All
/// or Machine.ReadWrite.All; 2 calls a minute and 120 an hour.
pub async fn package_uri(call: Call<Mde>, Path(id): Path<String>) -> ApiResult {
    call.require(super::machines::READ)?;
    call.admit_method("getPackageUri", 2, 120)?;
    let data = call.data()?;
    let settings = call.defender().settings();
    let d = read(&data);
    let a = &d.actions[super::actions::find(&d, &id)?];
    let a = action_view(a, OffsetDateTime::now_utc(), settings.action_seconds);
    if a["type"] != "CollectInvestigationPackage" {
        return Err(MdeError::bad(
            "InvalidInput",
            format!("Machine action {id} is not a CollectInvestigationPackage action."),
        ));
    }
    if a["status"] != "Succeeded" {
        return Err(MdeError::not_found("Investigation package of", &id));
    }
    let action_id = a["id"].as_str().unwrap_or_default();
    let url = signed_link(
        &call,
        &format!("investigation-package/{}/{action_id}", call.caller.tenant),
    );
    Ok(call.ok("Edm.String", json!({ "value": url })))
}

/// `GET /investigation-package/{tenant}/{action}?se=…&sig=…`: the package, for whoever
/// holds a valid link.
pub async fn download(
    State(state): State<AppState>,
    Path((tenant, action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (data, i) = match linked_action(&state, &tenant, &action, &q, |t| {
        format!("investigation-package/{t}/{action}")
    }) {
        Ok(found) => found,
        Err(why) => return denied(why),
    };
    let d = read(&data);
    let a = &d.actions[i];
    let Some(m) = d
        .machine_index(a["machineId"].as_str().unwrap_or_default())
        .map(|i| &d.machines[i])
    else {
        return denied("the link is not valid");
    };
    let mut processes = String::from("ProcessId,FileName,FolderPath,CommandLine,CreationTime\n");
    for (alert, ev) in d.alerts.iter().zip(&d.evidence) {
        if alert["machineId"] != m["id"] {
            continue;
        }
        for e in ev.as_array().into_iter().flatten() {
            if e["entityType"] == "Process" {
                let f = |k: &str| e[k].as_str().unwrap_or_default().replace(',', ";");
                processes.push_str(&format!(
                    "{},{},{},{},{}\n",
                    e["processId"],
                    f("fileName"),
                    f("filePath"),
                    f("processCommandLine"),
                    f("processCreationTime")
                ));
            }
        }
    }
    let field = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let info = [
        "computerDnsName",
        "id",
        "osPlatform",
        "osVersion",
        "osBuild",
        "lastIpAddress",
        "lastExternalIpAddress",
        "agentVersion",
        "lastSeen",
    ]
    .iter()
    .map(|k| format!("{k}: {}\n", field(&m[*k])))
    .collect::<String>();
    let summary = format!(
        "Investigation package of {} collected by machine action {action} ({}).\n",
        field(&m["computerDnsName"]),
        field(&a["requestorComment"])
    );
    let body = zip(&[
        ("CollectionSummaryReport.txt", summary.as_bytes()),
        ("System Information/SystemInformation.txt", info.as_bytes()),
        ("Processes/Processes.csv", processes.as_bytes()),
    ]);
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    r
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A ZIP archive of `files`, stored without compression (APPNOTE 4.3: local headers,
/// central directory, end record).
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
            v.extend_from_slice(&0u16.to_le_bytes()); // stored
            v.extend_from_slice(&0u16.to_le_bytes()); // time
            v.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let start = out.len() as u32;
    let n = files.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_of_the_check_string() {
        // The CRC-32 check value (ISO-HDLC) of "123456789".
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_end_record_points_at_the_central_directory() {
        let z = super::zip(&[("a.txt", b"hello"), ("b/c.txt", b"")]);
        let end = z.len() - 22;
        assert_eq!(&z[end..end + 4], b"PK\x05\x06");
        let at = |i: usize| u32::from_le_bytes([z[i], z[i + 1], z[i + 2], z[i + 3]]) as usize;
        let (size, start) = (at(end + 12), at(end + 16));
        assert_eq!(start + size, end);
        assert_eq!(&z[start..start + 4], b"PK\x01\x02");
        // The second entry's local header is where its central record says.
        let second = start + 46 + "a.txt".len();
        assert_eq!(&z[at(second + 42)..at(second + 42) + 4], b"PK\x03\x04");
        assert_eq!(at(second + 42), 30 + "a.txt".len() + 5);
    }
}
