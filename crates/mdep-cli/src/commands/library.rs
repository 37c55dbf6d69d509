//! `mdep library`: the live response library of each tenant chosen — list, upload,
//! delete (`Library.Manage`).

use crate::context::Output;
use crate::run::fanout::{call, each, fixed};
use crate::run::select::{Api, Targets, confirm};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use mdep_api::LibraryUpload;
use mdep_api::entity::LibraryFile;
use mdep_api::mde::response::LIBRARY_MAX_BYTES;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// List the scripts and files of the live response library, across tenants.
    #[command(
        after_help = "Examples:\n  mdep library list --all-tenants\n  mdep library list --tenant Contoso -o json"
    )]
    List {
        #[command(flatten)]
        targets: Targets,
    },
    /// Upload a file to the library of every tenant chosen (`POST /api/libraryfiles`,
    /// multipart); `RunScript` and `PutFile` then name it by its file name.
    #[command(
        after_help = "Examples:\n  mdep library upload collect.ps1 --tenant Contoso --description \"collects logs\"\n  mdep library upload scan.ps1 --all-tenants --parameters-description \"-Path: the folder\" --override"
    )]
    Upload {
        /// The file; its name is its name in the library.
        file: PathBuf,
        /// What the file does.
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        description: String,
        /// What the script's parameters are (`-Path: the folder`); sets HasParameters.
        #[arg(long, allow_hyphen_values = true)]
        parameters_description: Option<String>,
        /// Replace a file of the same name (OverrideIfExists); without it, MDE refuses.
        #[arg(long = "override")]
        override_if_exists: bool,
        #[command(flatten)]
        targets: Targets,
    },
    /// Delete a file from the library of every tenant chosen.
    #[command(
        after_help = "Examples:\n  mdep library delete collect.ps1 --tenant Contoso\n  mdep library delete collect.ps1 --all-tenants --yes"
    )]
    Delete {
        /// The file name in the library.
        name: String,
        #[command(flatten)]
        targets: Targets,
        /// Do not ask before deleting in more than one tenant.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(cmd: LibraryCommand, api: &Api, out: Output) -> Result<()> {
    match cmd {
        LibraryCommand::List { targets } => {
            let list = |t| {
                let c = api.client.clone();
                async move { c.library_files(&t).await }
            };
            let what = |v: &Vec<LibraryFile>| format!("{} files", v.len());
            call(
                api,
                &targets,
                list,
                out,
                fixed(FILE_COLS),
                |v| each(v),
                what,
            )
            .await
        }
        LibraryCommand::Upload {
            file,
            description,
            parameters_description,
            override_if_exists,
            targets,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            if bytes.len() > LIBRARY_MAX_BYTES {
                bail!(
                    "{} is {} bytes: the live response library takes files up to 20 MB",
                    file.display(),
                    bytes.len()
                );
            }
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("{} has no file name", file.display()))?;
            let up = Arc::new(LibraryUpload {
                file_name,
                bytes,
                description,
                has_parameters: parameters_description.is_some(),
                parameters_description,
                override_if_exists,
            });
            let upload = |t| {
                let (c, up) = (api.client.clone(), up.clone());
                async move { c.upload_library_file(&t, &up).await }
            };
            let rows = |f: &LibraryFile| each(std::slice::from_ref(f));
            let what = |f: &LibraryFile| format!("uploaded {}", f.file_name);
            call(api, &targets, upload, out, fixed(FILE_COLS), rows, what).await
        }
        LibraryCommand::Delete { name, targets, yes } => {
            let n = api.tenants(&targets)?.len();
            if n > 1 {
                confirm(
                    &format!("delete {name} from the library of {n} tenants"),
                    yes,
                )?;
            }
            let delete = |t| {
                let (c, name) = (api.client.clone(), name.clone());
                async move { c.delete_library_file(&t, &name).await.map(|()| name) }
            };
            let rows = |n: &String| Ok(vec![json!({"fileName": n, "result": "deleted"})]);
            let what = |n: &String| format!("deleted {n}");
            let columns = fixed(&[("FILE", "fileName"), ("RESULT", "result")]);
            call(api, &targets, delete, out, columns, rows, what).await
        }
    }
}

const FILE_COLS: &[(&str, &str)] = &[
    ("FILE", "fileName"),
    ("DESCRIPTION", "description"),
    ("PARAMETERS", "hasParameters"),
    ("SHA256", "sha256"),
    ("UPDATED", "lastUpdatedTime"),
    ("BY", "createdBy"),
];
