use super::*;

#[test]
fn template_parses_and_points_at_the_global_cloud() {
    let l = Config::parse(
        &template(Some("d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70")),
        Path::new("c.toml"),
    )
    .expect("valid");
    assert!(l.warnings.is_empty());
    assert_eq!(l.config.authority(), "https://login.microsoftonline.com");
    assert_eq!(
        l.config.api_base(),
        "https://api.securitycenter.microsoft.com"
    );
    assert_eq!(
        l.config.resource(),
        "https://api.securitycenter.microsoft.com"
    );
    assert_eq!(l.config.token_version, TokenVersion::V2);
}

#[test]
fn clouds_regions_and_overrides() {
    let base = template(None);
    let eu = Config::parse(
        &base.replace("# region = \"eu\"", "region = \"eu\""),
        Path::new("c"),
    )
    .expect("eu");
    assert_eq!(
        eu.config.api_base(),
        "https://eu.api.security.microsoft.com"
    );
    let gov = Config::parse(
        &base.replace("cloud = \"global\"", "cloud = \"gcc-high\""),
        Path::new("c"),
    )
    .expect("gov");
    assert_eq!(gov.config.authority(), "https://login.microsoftonline.us");
    assert_eq!(
        gov.config.api_base(),
        "https://api-gov.securitycenter.microsoft.us"
    );
    let bad = base
        .replace("cloud = \"global\"", "cloud = \"dod\"")
        .replace("# region = \"eu\"", "region = \"eu\"");
    assert!(
        Config::parse(&bad, Path::new("c")).is_err(),
        "regions are for the global cloud"
    );
    let emu = base.replace(
        "# authority_host = \"https://127.0.0.1:8443\"",
        "authority_host = \"https://127.0.0.1:8443/\"",
    );
    assert_eq!(
        Config::parse(&emu, Path::new("c"))
            .expect("emu")
            .config
            .authority(),
        "https://127.0.0.1:8443"
    );
    let http = base.replace(
        "# authority_host = \"https://127.0.0.1:8443\"",
        "authority_host = \"http://login.example.com\"",
    );
    assert!(Config::parse(&http, Path::new("c")).is_err());
}

#[test]
fn refuses_bad_files_with_their_line() {
    let base = template(None);
    let e = Config::parse(
        &base.replace("token_version = \"v2\"", "token_version = \"v3\""),
        Path::new("c.toml"),
    )
    .expect_err("bad");
    let line = base
        .lines()
        .position(|l| l.starts_with("token_version"))
        .expect("line")
        + 1;
    assert!(e.to_string().starts_with(&format!("c.toml:{line}:")), "{e}");
    let unknown = base.replace("cloud = \"global\"", "cloud = \"global\"\ncolour = 1");
    assert!(
        Config::parse(&unknown, Path::new("c"))
            .expect_err("unknown")
            .to_string()
            .contains("colour")
    );
    let two = base.replace("# secret_file = ", "secret_file = ");
    assert!(
        Config::parse(&two, Path::new("c"))
            .expect_err("two")
            .to_string()
            .contains("exactly one credential")
    );
    let perm = base.replace("\"Machine.Read.All\"]", "\"Machine.Read\"]");
    assert!(
        Config::parse(&perm, Path::new("c"))
            .expect_err("perm")
            .to_string()
            .contains("Machine.Read")
    );
}

#[test]
fn plain_text_secret_and_loose_mode_warn() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.toml");
    let text = template(None).replace(
        "secret_env = \"MDEP_CLIENT_SECRET\"",
        "client_secret = \"abc8Q~plain\"",
    );
    std::fs::write(&path, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let l = Config::load(&path).expect("loads");
    assert!(
        l.warnings.iter().any(|w| w.contains("plain text")),
        "{:?}",
        l.warnings
    );
    #[cfg(unix)]
    assert!(
        l.warnings.iter().any(|w| w.contains("chmod 600")),
        "{:?}",
        l.warnings
    );
    assert!(
        l.warnings.iter().all(|w| !w.contains("abc8Q~plain")),
        "warnings never quote the secret"
    );
}

#[test]
fn tenants_are_added_and_removed_keeping_comments() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.toml");
    write_private(&path, &template(None)).expect("write");
    add_tenant(
        &path,
        &TenantEntry {
            name: "Contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            tags: vec!["eu".into()],
        },
    )
    .expect("add");
    add_tenant(
        &path,
        &TenantEntry {
            name: "Woodgrove".into(),
            tenant: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d".into(),
            tags: vec![],
        },
    )
    .expect("add");
    assert!(
        add_tenant(
            &path,
            &TenantEntry {
                name: "contoso".into(),
                tenant: "x.onmicrosoft.com".into(),
                tags: vec![]
            }
        )
        .is_err(),
        "names are unique"
    );
    assert!(
        add_tenant(
            &path,
            &TenantEntry {
                name: "Bad".into(),
                tenant: "not a tenant".into(),
                tags: vec![]
            }
        )
        .is_err()
    );
    let l = Config::load(&path).expect("load");
    assert_eq!(l.config.tenants.len(), 2);
    assert_eq!(
        l.config.find_tenant("CONTOSO").map(|t| t.tags.clone()),
        Some(vec!["eu".to_owned()])
    );
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains("# Point everything at the local emulator"),
        "comments survive"
    );
    let removed = remove_tenant(&path, "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d").expect("remove");
    assert_eq!(removed.name, "Woodgrove");
    assert_eq!(Config::load(&path).expect("load").config.tenants.len(), 1);
    assert!(remove_tenant(&path, "Nobody").is_err());
}

#[test]
fn region_is_set_keeping_comments_and_other_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.toml");
    write_private(&path, &template(None)).expect("write");
    add_tenant(
        &path,
        &TenantEntry {
            name: "Contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            tags: vec![],
        },
    )
    .expect("add");
    set_region(&path, Region::Eu).expect("set");
    let l = Config::load(&path).expect("load");
    assert_eq!(l.config.region, Some(Region::Eu));
    assert_eq!(l.config.tenants.len(), 1, "other keys kept");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("# Point everything at the local emulator"));
    assert!(text.contains("secret_env = \"MDEP_CLIENT_SECRET\""));
    // A second pick replaces the value where it stands, with its comment.
    let text = text.replace("region = \"eu\"", "region = \"eu\" # picked by hand");
    write_private(&path, &text).expect("write");
    set_region(&path, Region::LegacyUk).expect("set");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("region =")).count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("region = \"api-uk\" # picked by hand"),
        "{text}"
    );
    assert_eq!(
        Config::load(&path).expect("load").config.region,
        Some(Region::LegacyUk)
    );
    let gov = text
        .replace("cloud = \"global\"", "cloud = \"gcc\"")
        .replace("region = \"api-uk\" # picked by hand\n", "");
    write_private(&path, &gov).expect("write");
    let err = set_region(&path, Region::Eu).expect_err("gcc has no regions");
    assert!(err.to_string().contains("global cloud only"), "{err}");
}

#[test]
fn credentials_come_from_env_or_file_never_the_config() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("config.toml");
    std::fs::write(dir.path().join("secret.txt"), "from-file-secret\n").expect("write");
    let text = template(None).replace(
        "secret_env = \"MDEP_CLIENT_SECRET\"",
        "secret_file = \"secret.txt\"",
    );
    let l = Config::parse(&text, &cfg).expect("valid");
    match l.config.credential(&cfg).expect("cred") {
        ClientCredential::Secret(s) => assert_eq!(s.expose(), "from-file-secret"),
        ClientCredential::Certificate(_) => panic!("secret expected"),
    }
    let text = template(None).replace("MDEP_CLIENT_SECRET", "MDEP_TEST_UNSET_VARIABLE_XYZ");
    let e = Config::parse(&text, &cfg)
        .expect("valid")
        .config
        .credential(&cfg)
        .expect_err("unset");
    assert!(
        e.to_string()
            .contains("MDEP_TEST_UNSET_VARIABLE_XYZ is not set")
    );
    let pfx = template(None).replace("secret_env = \"MDEP_CLIENT_SECRET\"", "pfx = \"p.pfx\"");
    let e = Config::parse(&pfx, &cfg)
        .expect("valid")
        .config
        .credential(&cfg)
        .expect_err("pfx");
    assert!(e.to_string().contains("p.pfx"), "{e}");
    let stray = template(None).replace(
        "secret_env = \"MDEP_CLIENT_SECRET\"",
        "secret_env = \"MDEP_CLIENT_SECRET\"\npfx_password_env = \"P\"",
    );
    let e = Config::parse(&stray, &cfg).expect_err("password without pfx");
    assert!(e.to_string().contains("pfx_password_env"), "{e}");
}

#[test]
fn bootstrap_takes_a_tenant_and_one_credential_like_the_partner() {
    let base = template(None);
    let with = |section: &str| Config::parse(&format!("{base}\n{section}"), Path::new("c"));
    let ok = with("[bootstrap]\nclient_id = \"11111111-1111-1111-1111-111111111111\"\ntenant = \"fabrikam.onmicrosoft.com\"\nsecret_env = \"BOOT\"\n")
        .expect("valid");
    let b = ok.config.bootstrap.expect("bootstrap");
    assert_eq!(b.tenant.as_deref(), Some("fabrikam.onmicrosoft.com"));
    let e = with("[bootstrap]\nclient_id = \"11111111-1111-1111-1111-111111111111\"\nsecret_env = \"BOOT\"\n")
        .expect_err("no tenant");
    assert!(e.to_string().contains("[bootstrap] needs tenant"), "{e}");
    let e = with("[bootstrap]\nclient_id = \"11111111-1111-1111-1111-111111111111\"\ntenant = \"f.example\"\n")
        .expect_err("no credential");
    assert!(
        e.to_string()
            .contains("[bootstrap] needs exactly one credential"),
        "{e}"
    );
}

#[test]
fn set_partner_app_swaps_the_credential_keeping_comments() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, template(None)).expect("write");
    let id = uuid::Uuid::new_v4();
    let perms = ["Alert.Read.All".to_owned()];
    edit::set_partner_app(
        &path,
        id,
        Some(&edit::CredentialRef::SecretFile(PathBuf::from(
            "app.secret",
        ))),
        Some((&perms, &[])),
    )
    .expect("set");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("# Customer tenants"), "comments kept");
    let c = Config::parse(&text, &path).expect("valid").config;
    assert_eq!(c.partner.client_id, id);
    assert_eq!(c.partner.secret_file, Some(PathBuf::from("app.secret")));
    assert!(c.partner.secret_env.is_none());
    assert_eq!(c.required_permissions, perms);
}
