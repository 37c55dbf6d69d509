//! Pointing the configuration at a (newly registered) partner app, keeping the file's
//! comments and layout: its client id, where its credential is read from (never the
//! secret itself) and the permissions it needs.

use super::{Config, ConfigError, invalid_in, read_text, write_private};
use std::path::{Path, PathBuf};

/// Where the partner app's credential is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRef {
    /// A file holding the client secret (mode 0600).
    SecretFile(PathBuf),
    /// A PEM file with the certificate and its private key.
    Certificate(PathBuf),
}

const CREDENTIAL_KEYS: &[&str] = &[
    "secret_env",
    "secret_file",
    "client_secret",
    "certificate",
    "certificate_style",
    "pfx",
    "pfx_password_env",
    "pfx_password_file",
];

fn string_array(values: &[String]) -> toml_edit::Item {
    let mut arr = toml_edit::Array::new();
    for v in values {
        arr.push(v.clone());
    }
    toml_edit::value(arr)
}

/// Sets `[partner]`'s client id and credential, and the required permissions (when
/// given), then checks and writes the file (mode 0600).
pub fn set_partner_app(
    path: &Path,
    client_id: uuid::Uuid,
    credential: Option<&CredentialRef>,
    required: Option<(&[String], &[String])>,
) -> Result<(), ConfigError> {
    let text = read_text(path)?;
    let invalid = invalid_in(path);
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    if let Some((mde, graph)) = required {
        doc.insert("required_permissions", string_array(mde));
        if graph.is_empty() {
            doc.remove("required_graph_permissions");
        } else {
            doc.insert("required_graph_permissions", string_array(graph));
        }
    }
    let partner = doc
        .entry("partner")
        .or_insert_with(toml_edit::table)
        .as_table_mut()
        .ok_or_else(|| invalid("'partner' must be a table ([partner])".into()))?;
    partner.insert("client_id", toml_edit::value(client_id.to_string()));
    if let Some(c) = credential {
        for k in CREDENTIAL_KEYS {
            partner.remove(k);
        }
        let (key, file) = match c {
            CredentialRef::SecretFile(f) => ("secret_file", f),
            CredentialRef::Certificate(f) => ("certificate", f),
        };
        partner.insert(key, toml_edit::value(file.display().to_string()));
    }
    let out = doc.to_string();
    Config::parse(&out, path)?;
    write_private(path, &out)
}
