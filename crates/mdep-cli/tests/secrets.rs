//! Secrets hygiene: no client secret, private key, client assertion or whole access
//! token appears in anything mdep writes — standard output and error of every command at
//! every log level (trace included, which turns on the HTTP and TLS libraries' own logs),
//! the emulator's logs, error messages, panic output, the persistent token cache — and
//! every file holding one is owner-only (0600).
//!
//! The forbidden strings: the secret (and a wrong one tried), every 32-character run of
//! the private key's base64, and `eyJ`, the first characters of any JWT (access tokens
//! and client assertions both). `token get --raw`, whose job is to print a token, is the
//! positive control: the same check sees that token.

mod common;
use common::BIN;
use mdep_auth::config::TokenVersion;
use mdep_auth::{AssertionStyle, BrokerOptions, CertificateCredential, ClientCredential, Secret};
use mdep_auth::{TokenBroker, http_client};
use mdep_model::Cloud;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PARTNER: &str = "11111111-1111-1111-1111-111111111111";
const APP: &str = "44444444-4444-4444-4444-444444444444";
const SECRET: &str = "hyg8Q~secret-value-never-printed-0123456789";
const WRONG: &str = "hyg8Q~a-wrong-secret-value-9876543210abcd";
const ADMIN_KEY: &str = "hygiene-admin-key-0123456789abcdef";
const LEVELS: [Option<&str>; 4] = [None, Some("info"), Some("debug"), Some("trace")];

fn tenant_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", i + 700)
}

/// A certificate and key, written as one PEM (what `certificate =` reads) and as the
/// public part alone (what the app registration holds).
struct Cert {
    both: PathBuf,
    public: PathBuf,
    key_pem: String,
}

fn cert(dir: &Path, name: &str) -> Cert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let c = rcgen::CertificateParams::new(vec!["mdep-hygiene".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let key_pem = key.serialize_pem();
    let both = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.crt"));
    std::fs::write(&both, format!("{}{}", c.pem(), key_pem)).expect("write");
    std::fs::write(&public, c.pem()).expect("write");
    Cert {
        both,
        public,
        key_pem,
    }
}

/// 32-character runs of the key's base64 body, every 16 characters.
fn key_fragments(pem: &str) -> Vec<String> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    (0..body.len().saturating_sub(32))
        .step_by(16)
        .map(|i| body[i..i + 32].to_owned())
        .collect()
}

struct Forbidden(Vec<String>);

impl Forbidden {
    fn new(key_pem: &str) -> Self {
        let mut v = vec![SECRET.to_owned(), WRONG.to_owned(), "eyJ".to_owned()];
        v.extend(key_fragments(key_pem));
        Self(v)
    }
    fn check(&self, what: &str, text: &str) {
        for f in &self.0 {
            assert!(
                !text.contains(f.as_str()),
                "{what} shows a secret ({}…):\n{}",
                &f[..f.len().min(6)],
                text.chars().take(3000).collect::<String>()
            );
        }
    }
}

struct Emulator {
    _server: common::Server,
    base: String,
    ca: PathBuf,
}

/// The emulator at trace level, its output to files so nothing blocks on a full pipe.
fn emulator(dir: &Path, registered: &Cert) -> Emulator {
    let mut s = format!(
        "[emulator]\nadmin_key = \"{ADMIN_KEY}\"\n\n\
         [[tenants]]\nid = \"{PARTNER}\"\nname = \"Fabrikam\"\ndomain = \"fabrikam.onmicrosoft.com\"\n\
         admin = {{ user = \"admin@fabrikam.onmicrosoft.com\", password = \"p\" }}\n"
    );
    for i in 0..2 {
        s.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nname = \"Customer{i}\"\ndomain = \"hyg{i}.onmicrosoft.com\"\n\
             admin = {{ user = \"admin@hyg{i}.onmicrosoft.com\", password = \"p\" }}\ndevices = 2\nalerts = 3\n",
            tenant_id(i)
        ));
    }
    s.push_str(&format!(
        "\n[[apps]]\nclient_id = \"{APP}\"\nname = \"Fabrikam SOC\"\nhome_tenant = \"{PARTNER}\"\n\
         permissions = [\"Alert.Read.All\", \"Machine.Read.All\"]\nsecrets = [{{ value = \"{SECRET}\" }}]\n\
         certificates = [{{ pem = \"{}\" }}]\n",
        registered.public.display()
    ));
    for i in 0..2 {
        s.push_str(&format!(
            "\n[[consents]]\ntenant = \"{}\"\napp = \"{APP}\"\n",
            tenant_id(i)
        ));
    }
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, s).expect("scenario");
    let state = dir.join("state");
    let server = common::start_logged(
        &state,
        &[
            "--scenario",
            scenario.to_str().expect("utf8"),
            "--db",
            dir.join("emulator.db").to_str().expect("utf8"),
        ],
        "trace",
        &dir.join("emulator.out"),
        &dir.join("emulator.err"),
    );
    Emulator {
        base: server.ready["base_url"].as_str().expect("base").to_owned(),
        ca: state.join("ca.pem"),
        _server: server,
    }
}

fn config(dir: &Path, emu: &Emulator, name: &str, credential: &str) -> PathBuf {
    let mut text = format!(
        "authority_host = \"{0}\"\napi_base = \"{0}\"\nca_file = \"{1}\"\n\n[partner]\nclient_id = \"{APP}\"\n{credential}\n",
        emu.base,
        emu.ca.display()
    );
    for i in 0..2 {
        text.push_str(&format!(
            "\n[[tenants]]\nname = \"Customer{i}\"\ntenant = \"{}\"\n",
            tenant_id(i)
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("config");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path
}

struct Run {
    code: i32,
    all: String,
    stdout: String,
}

fn run(config: &Path, home: &Path, secret: &str, level: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("MDEP_CONFIG", config)
        .env("MDEP_CLIENT_SECRET", secret)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("MDEP_DB")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null());
    match level {
        Some(l) => cmd.env("MDEP_LOG", l),
        None => cmd.env_remove("MDEP_LOG"),
    };
    let out = cmd.output().expect("run mdep");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        all: format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
        stdout,
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
}

#[test]
fn no_secret_key_assertion_or_token_in_any_output_log_level_cache_or_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let registered = cert(dir, "registered");
    let stranger = cert(dir, "stranger");
    let emu = emulator(dir, &registered);
    let mut forbidden = Forbidden::new(&registered.key_pem);
    forbidden.0.extend(key_fragments(&stranger.key_pem));
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");

    let with_secret = config(
        dir,
        &emu,
        "secret.toml",
        "secret_env = \"MDEP_CLIENT_SECRET\"",
    );
    let with_cert = config(
        dir,
        &emu,
        "cert.toml",
        &format!("certificate = \"{}\"", registered.both.display()),
    );
    let with_stranger = config(
        dir,
        &emu,
        "stranger.toml",
        &format!(
            "certificate = \"{}\"\ncertificate_style = \"rs256\"",
            stranger.both.display()
        ),
    );
    let inline = config(
        dir,
        &emu,
        "inline.toml",
        &format!("client_secret = \"{SECRET}\""),
    );

    let ok: &[&[&str]] = &[
        &["tenants", "check"],
        &["token", "get", "--tenant", "Customer0"],
        &["alerts", "list", "--all-tenants", "-o", "jsonl"],
        &["machines", "list", "--tenant", "Customer1", "-o", "json"],
        &["config", "show"],
    ];
    for level in LEVELS {
        for (cfg, secret) in [(&with_secret, SECRET), (&with_cert, ""), (&inline, "")] {
            for args in ok {
                let r = run(cfg, &home, secret, level, args);
                assert_eq!(r.code, 0, "{args:?} at {level:?}:\n{}", r.all);
                if level == Some("trace") && args[0] == "alerts" {
                    // The HTTP and TLS libraries log at this level: the check reads them.
                    assert!(
                        r.all.contains("TRACE") && r.all.contains("hyper"),
                        "{}",
                        r.all
                    );
                }
                forbidden.check(&format!("mdep {args:?} at {level:?}"), &r.all);
            }
        }
        // Failures: a wrong secret (AADSTS7000215), a certificate the app does not
        // hold (AADSTS700027), a tenant that does not exist.
        for (cfg, secret, args) in [
            (
                &with_secret,
                WRONG,
                &["token", "get", "--tenant", "Customer0"][..],
            ),
            (
                &with_secret,
                WRONG,
                &["alerts", "list", "--all-tenants"][..],
            ),
            (
                &with_stranger,
                "",
                &["token", "get", "--tenant", "Customer1"][..],
            ),
            (
                &with_secret,
                SECRET,
                &["token", "get", "--tenant", "nobody.example"][..],
            ),
        ] {
            let r = run(cfg, &home, secret, level, args);
            assert_ne!(r.code, 0, "{args:?} must fail:\n{}", r.all);
            forbidden.check(&format!("failing mdep {args:?} at {level:?}"), &r.all);
        }
    }

    // The positive control: printing a token is `--raw`'s job, and the check sees it.
    let raw = run(
        &with_secret,
        &home,
        SECRET,
        None,
        &["token", "get", "--tenant", "Customer0", "--raw"],
    );
    assert_eq!(raw.code, 0, "{}", raw.all);
    assert!(
        raw.stdout.trim().starts_with("eyJ"),
        "the check would see a token"
    );
    let token = raw.stdout.trim().to_owned();

    // The persistent cache: sealed, owner-only, and never the token in plain text.
    let cache = home.join("cache").join("mdep").join("tokens.json");
    let text = std::fs::read_to_string(&cache).expect("the cache was written");
    // Sealed bytes are random base64, which can hold `eyJ` by chance: here the check is
    // for the token's own header segment and every 32-character run of the token.
    let mut sealed = Forbidden(
        forbidden
            .0
            .iter()
            .filter(|f| f.as_str() != "eyJ")
            .cloned()
            .collect(),
    );
    sealed
        .0
        .push(token.split('.').next().expect("header").to_owned());
    sealed.0.extend(
        (0..token.len() - 32)
            .step_by(16)
            .map(|i| token[i..i + 32].to_owned()),
    );
    sealed.check("the token cache", &text);
    #[cfg(unix)]
    {
        assert_eq!(mode(&cache), 0o600, "token cache");
        assert_eq!(mode(&dir.join("emulator.db")), 0o600, "emulator database");
        assert_eq!(
            mode(&dir.join("state").join("ready.json")),
            0o600,
            "ready.json"
        );
        let key = std::fs::read_dir(dir.join("state"))
            .expect("state")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("PRIVATE KEY")))
            .collect::<Vec<_>>();
        assert!(!key.is_empty(), "the CA's key is in the state dir");
        for k in key {
            assert_eq!(mode(&k), 0o600, "{}", k.display());
        }
    }

    // The emulator received secrets, assertions and tokens and issued tokens, all at
    // trace level: its logs hold none of them.
    drop(emu);
    for log in ["emulator.out", "emulator.err"] {
        let text = std::fs::read_to_string(dir.join(log)).expect("log");
        forbidden.check(log, &text);
    }
    assert!(
        std::fs::read_to_string(dir.join("emulator.err"))
            .expect("log")
            .contains("TRACE"),
        "the emulator logged at trace level"
    );
}

/// What a panic prints (`expect` on an error, `{:?}` of a credential in a message)
/// names no secret, key, assertion or token.
#[tokio::test]
async fn panic_output_shows_no_secret() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_owned();
    let registered = cert(&dir, "registered");
    let stranger = cert(&dir, "stranger");
    let emu = tokio::task::spawn_blocking({
        let dir = dir.clone();
        let public = registered.public.clone();
        move || {
            emulator(
                &dir,
                &Cert {
                    both: PathBuf::new(),
                    public,
                    key_pem: String::new(),
                },
            )
        }
    })
    .await
    .expect("start");
    let mut forbidden = Forbidden::new(&registered.key_pem);
    forbidden.0.extend(key_fragments(&stranger.key_pem));
    let http = http_client(Some(&emu.ca)).expect("http");
    let broker = |cred: ClientCredential| {
        TokenBroker::new(
            BrokerOptions::new(
                Cloud::Global,
                &emu.base,
                APP,
                cred,
                "https://api.securitycenter.microsoft.com",
                TokenVersion::V2,
            ),
            http.clone(),
        )
    };
    let pem = |c: &Cert| std::fs::read_to_string(&c.both).expect("pem");
    let good = broker(ClientCredential::Secret(Secret::new(SECRET)));
    let token = good.token(&tenant_id(0), "Customer0").await.expect("token");
    let wrong = broker(ClientCredential::Secret(Secret::new(WRONG)));
    let e1 = wrong
        .token(&tenant_id(0), "Customer0")
        .await
        .expect_err("wrong secret");
    let strange = broker(ClientCredential::Certificate(
        CertificateCredential::from_pem(&pem(&stranger), AssertionStyle::Ps256).expect("cred"),
    ));
    let e2 = strange
        .token(&tenant_id(1), "Customer1")
        .await
        .expect_err("unregistered certificate");
    let cert_cred =
        CertificateCredential::from_pem(&pem(&registered), AssertionStyle::Rs256).expect("cred");

    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = messages.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.lock().expect("lock").push(info.to_string());
    }));
    let token2 = token.clone();
    // `expect` on an `Err` on purpose: the panic message it makes is what is checked.
    #[allow(clippy::unnecessary_literal_unwrap)]
    let panics: Vec<Box<dyn FnOnce() + std::panic::UnwindSafe>> = vec![
        Box::new(move || {
            Err::<(), _>(e1).expect("token");
        }),
        Box::new(move || {
            Err::<(), _>(e2).expect("token");
        }),
        Box::new(move || panic!("{token2:?} {:?}", token2.token)),
        Box::new(move || panic!("{cert_cred:?}")),
        Box::new(|| panic!("{:?}", ClientCredential::Secret(Secret::new(SECRET)))),
        Box::new(|| panic!("{:?} {}", Secret::new(SECRET), Secret::new(SECRET))),
    ];
    let n = panics.len();
    for p in panics {
        assert!(std::panic::catch_unwind(p).is_err());
    }
    std::panic::set_hook(previous);
    let messages = messages.lock().expect("lock").clone();
    assert_eq!(messages.len(), n);
    assert!(
        messages[0].contains("7000215"),
        "the panic still says why: {}",
        messages[0]
    );
    for m in &messages {
        forbidden.check("panic output", m);
        assert!(!m.contains(&token.token.expose()[20..60]));
    }
}
