use super::*;

const GOOD: &str = r#"
[emulator]
admin_key = "test-admin-key-0123456789"
token_lifetime_minutes = 60

[[tenants]]
id = "11111111-1111-1111-1111-111111111111"
name = "Fabrikam"
domain = "fabrikam.onmicrosoft.com"
admin = { user = "admin@fabrikam.onmicrosoft.com", password = "P@ssw0rd-fab" }

[[tenants]]
id = "22222222-2222-2222-2222-222222222222"
name = "Contoso"
domain = "contoso.onmicrosoft.com"
admin = { user = "admin@contoso.onmicrosoft.com", password = "P@ssw0rd-con" }
devices = 40
alerts = 250
seed = 7

[[apps]]
client_id = "33333333-3333-3333-3333-333333333333"
name = "Fabrikam SOC Connector"
home_tenant = "11111111-1111-1111-1111-111111111111"
multi_tenant = true
redirect_uris = ["https://portal.azure.com"]
permissions = ["Alert.Read.All", "Machine.Read.All"]
secrets = [{ value = "abc8Q~0123456789abcdefghijklmnopqrstuvw", expires = "2099-12-31T00:00:00Z" }]

[[consents]]
tenant = "22222222-2222-2222-2222-222222222222"
app = "33333333-3333-3333-3333-333333333333"
"#;

fn err(text: &str) -> (usize, String) {
    match Scenario::parse(text, Path::new("s.toml")) {
        Err(ScenarioError::At { line, message, .. }) => (line, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn good_scenario_applies_and_reapplies_idempotently() {
    let s = Scenario::parse(GOOD, Path::new("s.toml")).expect("valid");
    assert_eq!(s.admin_key(), Some("test-admin-key-0123456789"));
    let emu = Emulator::open(None, Default::default()).expect("emu");
    let sum = s.apply(&emu).expect("apply");
    assert_eq!((sum.tenants, sum.apps, sum.consents), (2, 1, 1));
    let again = s.apply(&emu).expect("apply again");
    assert_eq!(
        (again.tenants, again.apps, again.consents, again.skipped),
        (0, 0, 0, 4)
    );
    let dir = emu.directory();
    let sp = &dir.service_principals[&(
        Uuid::parse_str("22222222-2222-2222-2222-222222222222").expect("uuid"),
        Uuid::parse_str("33333333-3333-3333-3333-333333333333").expect("uuid"),
    )];
    assert_eq!(sp.roles, vec!["Alert.Read.All", "Machine.Read.All"]);
    assert_eq!(dir.tenants.values().map(|t| t.alerts).sum::<u32>(), 250);
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let text = GOOD.replace("devices = 40", "devices = 40\ncolour = \"blue\"");
    let (line, msg) = err(&text);
    assert!(msg.contains("colour"), "{msg}");
    assert_eq!(
        line,
        text.lines()
            .position(|l| l.starts_with("colour"))
            .expect("line")
            + 1
    );
}

#[test]
fn bad_guid_is_refused_with_its_line() {
    let text = GOOD.replace(
        "id = \"22222222-2222-2222-2222-222222222222\"",
        "id = \"not-a-guid\"",
    );
    let (line, msg) = err(&text);
    assert_eq!(
        line,
        text.lines()
            .position(|l| l.contains("not-a-guid"))
            .expect("line")
            + 1
    );
    assert!(
        msg.to_lowercase().contains("uuid") || msg.contains("GUID"),
        "{msg}"
    );
}

#[test]
fn consent_naming_unknown_app_is_refused() {
    let text = GOOD.replace(
        "app = \"33333333-3333-3333-3333-333333333333\"",
        "app = \"44444444-4444-4444-4444-444444444444\"",
    );
    let (line, msg) = err(&text);
    assert!(msg.contains("not an app of this scenario"), "{msg}");
    assert_eq!(
        line,
        text.lines()
            .position(|l| l.contains("44444444"))
            .expect("line")
            + 1
    );
}

#[test]
fn bad_expiry_format_is_refused() {
    let text = GOOD.replace("2099-12-31T00:00:00Z", "31/12/2099");
    let (line, msg) = err(&text);
    assert!(msg.contains("RFC 3339"), "{msg}");
    assert_eq!(
        line,
        text.lines()
            .position(|l| l.contains("31/12/2099"))
            .expect("line")
            + 1
    );
}

#[test]
fn rules_are_checked_before_anything_applies() {
    let unknown_perm = GOOD.replace("\"Machine.Read.All\"]", "\"Machine.Read\"]");
    let (_, msg) = err(&unknown_perm);
    assert!(msg.contains("Machine.Read"), "{msg}");
    let bad_home = GOOD.replace(
        "home_tenant = \"11111111-1111-1111-1111-111111111111\"",
        "home_tenant = \"55555555-5555-5555-5555-555555555555\"",
    );
    assert!(err(&bad_home).1.contains("home_tenant"));
    let dup = format!(
        "{GOOD}\n[[tenants]]\nid = \"11111111-1111-1111-1111-111111111111\"\nname = \"Again\"\ndomain = \"again.onmicrosoft.com\"\nadmin = {{ user = \"a@again.onmicrosoft.com\", password = \"x\" }}\n"
    );
    assert!(err(&dup).1.contains("exists already"));
    let bad_redirect = GOOD.replace("https://portal.azure.com", "http://evil.example.com/cb");
    assert!(err(&bad_redirect).1.contains("https"));
}

#[test]
fn certificates_load_relative_to_the_scenario() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa");
    let cert = rcgen::CertificateParams::new(vec!["soc".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(dir.path().join("certs/soc.crt"), cert.pem()).expect("write");
    let text = GOOD.replace(
        "secrets = [",
        "certificates = [{ pem = \"certs/soc.crt\" }]\nsecrets = [",
    );
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, &text).expect("write");
    let s = Scenario::load(&path).expect("loads");
    let emu = Emulator::open(None, Default::default()).expect("emu");
    s.apply(&emu).expect("apply");
    let dir_ = emu.directory();
    let app = dir_.apps.values().next().expect("app");
    assert_eq!(app.certificates.len(), 1);
    let missing = GOOD.replace(
        "secrets = [",
        "certificates = [{ pem = \"certs/none.crt\" }]\nsecrets = [",
    );
    assert!(err(&missing).1.contains("cannot read certificate"));
}
