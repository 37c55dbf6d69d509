//! Running the real `mdep` binary: an emulator on 127.0.0.1:0 and commands against it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mdep");

pub fn example_scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenario.toml")
}

pub struct Server {
    pub child: Child,
    pub ready: Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(state_dir: &Path, extra: &[&str]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    launch(cmd, state_dir, extra)
}

/// `mdep emulator serve` logging at `level`, its standard output and error written to
/// `out` and `err` (files never fill up and block the server the way a pipe nobody
/// reads does).
pub fn start_logged(
    state_dir: &Path,
    extra: &[&str],
    level: &str,
    out: &Path,
    err: &Path,
) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.env("MDEP_LOG", level)
        .stdout(std::fs::File::create(out).expect("log file"))
        .stderr(std::fs::File::create(err).expect("log file"));
    launch(cmd, state_dir, extra)
}

fn launch(mut cmd: Command, state_dir: &Path, extra: &[&str]) -> Server {
    let ready_file = state_dir.join("ready.json");
    let _ = std::fs::remove_file(&ready_file);
    let mut child = cmd
        .args([
            "emulator",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
        ])
        .arg(state_dir)
        .args(extra)
        .spawn()
        .expect("spawn mdep");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&ready_file)
            && let Ok(ready) = serde_json::from_str::<Value>(&text)
        {
            return Server { child, ready };
        }
        if let Ok(Some(status)) = child.try_wait() {
            let out = child.wait_with_output().expect("output");
            panic!(
                "mdep exited {status}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(Instant::now() < deadline, "no ready.json after 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}
