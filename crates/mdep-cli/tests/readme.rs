//! The README's command lines cannot drift: every `mdep` line must parse, and the
//! emulator section runs for real (serve, Microsoft's curl command, admin commands).

mod common;
use common::BIN;
use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
        .expect("README")
}

/// Lines of ```sh blocks, with `\` continuations joined and comments dropped.
fn sh_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = line.split(" # ").next().unwrap_or("").trim_end();
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        out.push(std::mem::take(&mut pending).trim().to_owned());
    }
    out
}

/// Splits a command line into words, honouring single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, ' ') => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

fn mdep_args(line: &str) -> Option<Vec<String>> {
    let w = words(line);
    match w.first().map(String::as_str) {
        Some("mdep") => Some(w[1..].to_vec()),
        Some("cargo") if w.get(1).map(String::as_str) == Some("run") => w
            .iter()
            .position(|x| x == "--")
            .map(|i| w[i + 1..].to_vec()),
        _ => None,
    }
}

#[test]
fn every_documented_command_parses() {
    let text = readme();
    let lines = sh_lines(&text);
    let commands: Vec<Vec<String>> = lines.iter().filter_map(|l| mdep_args(l)).collect();
    assert!(
        commands.len() >= 8,
        "the README documents commands: {lines:?}"
    );
    assert_eq!(commands[0], ["demo"], "the first command runs the demo");
    for args in commands {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| {
                if a.starts_with('<') {
                    "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70".into()
                } else {
                    a
                }
            })
            .collect();
        let out = Command::new(BIN)
            .args(&args)
            .env("MDEP_PARSE_ONLY", "1")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "`mdep {}` does not parse: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tests = lines
        .iter()
        .filter(|l| l.starts_with("./scripts/test"))
        .count();
    assert_eq!(tests, 1, "the README names the test command");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/test")
            .exists()
    );
}

#[test]
fn the_emulator_section_runs_as_written() {
    let text = readme();
    let lines = sh_lines(&text);
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("emu");
    let fix = |s: &str| s.replace("/tmp/emu", state.to_str().expect("utf8"));
    let serve = lines
        .iter()
        .find(|l| l.starts_with("mdep emulator serve --listen 127.0.0.1:8443"))
        .expect("serve line");
    let args = mdep_args(&fix(serve)).expect("args");
    // The helper sets --listen 127.0.0.1:0 and --state-dir itself; keep the other options.
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.into_iter().skip(2);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" | "--state-dir" => {
                it.next();
            }
            "examples/scenario.toml" => rest.push(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../examples/scenario.toml")
                    .display()
                    .to_string(),
            ),
            _ => rest.push(a),
        }
    }
    let server = common::start(&state, &rest.iter().map(String::as_str).collect::<Vec<_>>());
    let base = server.ready["base_url"].as_str().expect("base").to_owned();
    // Microsoft's curl command, as the README writes it.
    let curl = lines
        .iter()
        .find(|l| l.starts_with("curl "))
        .expect("curl line");
    let curl = fix(curl).replace("https://127.0.0.1:8443", &base);
    let out = Command::new("curl")
        .args(&words(&curl)[1..])
        .output()
        .expect("curl");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["expires_in"], 3599);
    for line in lines
        .iter()
        .filter(|l| l.starts_with("mdep emulator consent") || l.starts_with("mdep emulator keys"))
    {
        let args = mdep_args(&fix(line)).expect("args");
        let out = Command::new(BIN).args(&args).output().expect("run");
        assert!(
            out.status.success(),
            "`{line}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(server);
}
