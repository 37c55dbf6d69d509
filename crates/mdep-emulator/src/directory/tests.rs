use super::*;

fn admin(user: &str) -> NewAdmin {
    NewAdmin {
        user: user.into(),
        password: "Secret123!".into(),
    }
}

fn tenant(dir: &mut Directory, name: &str) -> Tenant {
    dir.create_tenant(NewTenant {
        id: None,
        name: name.into(),
        domain: None,
        admin: admin(&format!(
            "admin@{}.onmicrosoft.com",
            name.to_ascii_lowercase()
        )),
        devices: 0,
        alerts: 0,
        seed: 0,
        licence: Default::default(),
    })
    .expect("tenant")
}

fn app(dir: &mut Directory, home: Uuid, perms: &[&str]) -> App {
    dir.register_app(NewApp {
        client_id: None,
        name: "Fabrikam SOC".into(),
        home_tenant: home,
        multi_tenant: true,
        redirect_uris: vec!["https://portal.azure.com".into()],
        permissions: perms.iter().map(|s| s.to_string()).collect(),
    })
    .expect("app")
}

#[test]
fn resolves_tenants_by_guid_domain_and_alias() {
    let mut dir = Directory::default();
    let t = tenant(&mut dir, "Contoso");
    assert_eq!(dir.resolve(&t.id.to_string()), TenantRef::Known(t.id));
    assert_eq!(
        dir.resolve("CONTOSO.onmicrosoft.com"),
        TenantRef::Known(t.id)
    );
    assert_eq!(dir.resolve("common"), TenantRef::Alias(TenantAlias::Common));
    assert_eq!(dir.resolve(&Uuid::new_v4().to_string()), TenantRef::Unknown);
    assert_eq!(dir.resolve("nobody.example.com"), TenantRef::Unknown);
    assert_eq!(dir.resolve("not a tenant"), TenantRef::Malformed);
    assert_eq!(dir.resolve("x"), TenantRef::Malformed);
}

#[test]
fn consent_snapshots_permissions_until_granted_again() {
    let mut dir = Directory::default();
    let partner = tenant(&mut dir, "Fabrikam");
    let customer = tenant(&mut dir, "Contoso");
    let a = app(&mut dir, partner.id, &["Alert.Read.All"]);
    let sp = dir
        .grant_consent(customer.id, a.client_id, None)
        .expect("consent");
    assert_eq!(sp.roles, vec!["Alert.Read.All"]);
    dir.add_permission(a.client_id, "Machine.Isolate")
        .expect("perm");
    let sp_now = &dir.service_principals[&(customer.id, a.client_id)];
    assert_eq!(
        sp_now.roles,
        vec!["Alert.Read.All"],
        "no new role without consent"
    );
    let again = dir
        .grant_consent(customer.id, a.client_id, None)
        .expect("consent");
    assert_eq!(again.roles, vec!["Alert.Read.All", "Machine.Isolate"]);
    assert_eq!(
        again.object_id, sp.object_id,
        "re-consent keeps the service principal"
    );
    dir.revoke_consent(customer.id, a.client_id)
        .expect("revoke");
    assert!(dir.revoke_consent(customer.id, a.client_id).is_err());
}

#[test]
fn refuses_bad_input() {
    let mut dir = Directory::default();
    let t = tenant(&mut dir, "Contoso");
    let bad_perm = dir.register_app(NewApp {
        client_id: None,
        name: "x".into(),
        home_tenant: t.id,
        multi_tenant: true,
        redirect_uris: vec![],
        permissions: vec!["Alert.Read".into()],
    });
    assert!(matches!(bad_perm, Err(DirectoryError::Invalid(m)) if m.contains("Alert.Read")));
    for uri in [
        "http://example.com/cb",
        "ftp://x",
        "https://",
        "https://x/#frag",
        "/relative",
    ] {
        assert!(check_redirect_uri(uri).is_err(), "{uri} accepted");
    }
    for uri in [
        "https://portal.azure.com",
        "http://localhost:8080/cb",
        "http://127.0.0.1/landing",
    ] {
        assert!(check_redirect_uri(uri).is_ok(), "{uri} refused");
    }
    let dup = dir.create_tenant(NewTenant {
        id: Some(t.id),
        name: "Again".into(),
        domain: Some("again.onmicrosoft.com".into()),
        admin: admin("admin@again.onmicrosoft.com"),
        devices: 0,
        alerts: 0,
        seed: 0,
        licence: Default::default(),
    });
    assert!(matches!(dup, Err(DirectoryError::Conflict(_))));
    let foreign_admin = dir.create_tenant(NewTenant {
        id: None,
        name: "Woodgrove".into(),
        domain: Some("woodgrove.onmicrosoft.com".into()),
        admin: admin("admin@contoso.onmicrosoft.com"),
        devices: 0,
        alerts: 0,
        seed: 0,
        licence: Default::default(),
    });
    assert!(foreign_admin.is_err());
}

#[test]
fn single_tenant_apps_cannot_be_consented_elsewhere() {
    let mut dir = Directory::default();
    let home = tenant(&mut dir, "Fabrikam");
    let other = tenant(&mut dir, "Contoso");
    let a = dir
        .register_app(NewApp {
            client_id: None,
            name: "Internal".into(),
            home_tenant: home.id,
            multi_tenant: false,
            redirect_uris: vec![],
            permissions: vec!["Alert.Read.All".into()],
        })
        .expect("app");
    assert!(dir.grant_consent(other.id, a.client_id, None).is_err());
    assert!(dir.grant_consent(home.id, a.client_id, None).is_ok());
}

#[test]
fn secrets_are_hashed_and_removable() {
    let mut dir = Directory::default();
    let t = tenant(&mut dir, "Fabrikam");
    let a = app(&mut dir, t.id, &[]);
    let hasher = SecretHasher::new(b"key");
    let (_, secret, value) = dir
        .add_secret(a.client_id, None, None, &hasher)
        .expect("secret");
    assert_eq!(value.len(), 40);
    assert!(!secret.hash.contains(&value));
    assert!(hasher.verify(&value, &secret.hash));
    assert!(!format!("{secret:?}").contains(&secret.hash));
    dir.remove_secret(a.client_id, secret.key_id)
        .expect("removed");
    assert!(dir.remove_secret(a.client_id, secret.key_id).is_err());
}

#[test]
fn der_certificates_are_read_whatever_bytes_they_hold() {
    // Graph's keyCredentials carry base64 DER; a '-' among its first bytes is not PEM.
    let der = (0..200)
        .map(|_| {
            let key = rcgen::KeyPair::generate().expect("key");
            let cert = rcgen::CertificateParams::new(vec!["x.example".to_owned()])
                .expect("params")
                .self_signed(&key)
                .expect("cert");
            cert.der().to_vec()
        })
        .find(|d| d.iter().take(64).any(|b| *b == b'-'))
        .expect("a DER with a '-' early on");
    let err = parse_certificate(&der).expect_err("an EC key is refused, but as a certificate");
    assert!(err.to_string().contains("not RSA"), "{err}");
}
