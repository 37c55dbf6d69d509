//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory and
//! `pg_ctl start` on a free local port, stopped on drop. The binaries come from
//! `MDEP_PG_BIN`, `pg_config --bindir`, or Debian's `/usr/lib/postgresql/*/bin`
//! (`scripts/test` installs Debian's `postgresql` when they are missing). PostgreSQL
//! refuses to run as root, so as root the server runs as the `postgres` user.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The server's certificate and key (PEM).
struct Tls {
    cert: String,
    key: String,
}

pub struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn bindir() -> PathBuf {
    if let Some(d) = std::env::var_os("MDEP_PG_BIN") {
        return PathBuf::from(d);
    }
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output()
        && o.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if d.join("initdb").exists() {
            return d;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    if let Some(d) = found.into_iter().rev().find(|d| d.join("initdb").exists()) {
        return d;
    }
    panic!(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` \
         package (scripts/test does), or set MDEP_PG_BIN to their directory"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `chown postgres ARGS…` (the server runs as `postgres` when the tests run as root).
fn chown_to_postgres(args: &[&Path]) {
    let out = Command::new("chown")
        .arg("postgres")
        .args(args)
        .output()
        .expect("chown");
    assert!(
        out.status.success(),
        "chown: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    fn cmd(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A server that accepts TCP connections over TLS only (`hostssl`; plain `hostnossl`
    /// refused), its certificate for `127.0.0.1` signed by a throwaway CA. Also returns
    /// the CA's PEM file, and a second CA that signed nothing (for refusals).
    pub fn start_tls() -> (Self, PathBuf, PathBuf) {
        let pki = tempfile::tempdir().expect("tmp").keep();
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mdep test PostgreSQL CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().expect("key");
        let mut server_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        server_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(
                std::net::Ipv4Addr::LOCALHOST.into(),
            ));
        let server = server_params
            .signed_by(&server_key, &issuer)
            .expect("server cert");
        let other_key = rcgen::KeyPair::generate().expect("key");
        let other = rcgen::CertificateParams::new(Vec::<String>::new())
            .expect("params")
            .self_signed(&other_key)
            .expect("other ca");
        std::fs::write(pki.join("ca.pem"), ca.pem()).expect("ca");
        std::fs::write(pki.join("other-ca.pem"), other.pem()).expect("other");
        let tls = Tls {
            cert: server.pem(),
            key: server_key.serialize_pem(),
        };
        (
            Self::start_with(Some(&tls)),
            pki.join("ca.pem"),
            pki.join("other-ca.pem"),
        )
    }

    fn start_with(tls: Option<&Tls>) -> Self {
        let bin = bindir();
        let dir = tempfile::tempdir().expect("tmp");
        let as_postgres = is_root();
        if as_postgres {
            chown_to_postgres(&["-R".as_ref(), dir.path()]);
        }
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut pg = Self {
            _dir: dir,
            data,
            bin,
            port,
            as_postgres,
        };
        let out = pg
            .cmd(&pg.bin.join("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&pg.data)
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sock = pg._dir.path().display().to_string();
        let mut opts = format!(
            "-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        );
        if let Some(tls) = tls {
            use std::os::unix::fs::PermissionsExt;
            let cert = pg.data.join("server.crt");
            let key = pg.data.join("server.key");
            std::fs::write(&cert, &tls.cert).expect("cert");
            std::fs::write(&key, &tls.key).expect("key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("0600");
            std::fs::write(
                pg.data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
            )
            .expect("pg_hba");
            if pg.as_postgres {
                chown_to_postgres(&[&cert, &key, &pg.data.join("pg_hba.conf")]);
            }
            opts.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        let log = pg._dir.path().join("server.log");
        let out = pg
            .cmd(&pg.bin.join("pg_ctl"))
            .args(["-w", "-t", "60", "-D"])
            .arg(&pg.data)
            .args(["-o", &opts, "-l"])
            .arg(&log)
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        pg.port = port;
        pg
    }

    /// A URL for database `db` (created if needed).
    pub fn url(&self, db: &str) -> String {
        let out = self
            .cmd(&self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                db,
            ])
            .output()
            .expect("createdb");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("already exists"),
            "createdb: {err}"
        );
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .cmd(&self.bin.join("pg_ctl"))
            .args(["-D"])
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
