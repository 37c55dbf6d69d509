//! Discovery documents, JWKS and key rotation, checked with an independent validator
//! (`jsonwebtoken`) the way a resource server validates Entra tokens.

mod common;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn v1_and_v2_documents_name_the_tenant_guid() {
    let e = emu();
    for path in [
        "/contoso.onmicrosoft.com/.well-known/openid-configuration",
        &format!("/{CONTOSO}/.well-known/openid-configuration"),
    ] {
        let r = e.get(path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["cache-control"], "max-age=86400, private");
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        let d = r.json();
        assert_eq!(d["issuer"], format!("https://sts.windows.net/{CONTOSO}/"));
        assert_eq!(
            d["token_endpoint"],
            format!("{ORIGIN}/{CONTOSO}/oauth2/token")
        );
        assert_eq!(
            d["authorization_endpoint"],
            format!("{ORIGIN}/{CONTOSO}/oauth2/authorize")
        );
        assert_eq!(d["jwks_uri"], format!("{ORIGIN}/common/discovery/keys"));
    }
    let d = e
        .get("/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        d["token_endpoint"],
        format!("{ORIGIN}/{CONTOSO}/oauth2/v2.0/token")
    );
    assert_eq!(
        d["authorization_endpoint"],
        format!("{ORIGIN}/{CONTOSO}/oauth2/v2.0/authorize")
    );
    assert_eq!(
        d["jwks_uri"],
        format!("{ORIGIN}/{CONTOSO}/discovery/v2.0/keys")
    );
    assert_eq!(d["issuer"], format!("{ORIGIN}/{CONTOSO}/v2.0"));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ])
    );
    let common = e
        .get("/common/v2.0/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(common["issuer"], format!("{ORIGIN}/{{tenantid}}/v2.0"));
}

#[tokio::test]
async fn unknown_tenants_get_invalid_tenant() {
    let e = emu();
    for (path, code) in [
        (
            "/99999999-9999-9999-9999-999999999999/v2.0/.well-known/openid-configuration",
            90002,
        ),
        (
            "/nobody.onmicrosoft.com/.well-known/openid-configuration",
            90002,
        ),
        ("/bad%20tenant/.well-known/openid-configuration", 900023),
        (
            "/99999999-9999-9999-9999-999999999999/discovery/v2.0/keys",
            90002,
        ),
    ] {
        e.get(path).await.entra_error(400, "invalid_tenant", code);
    }
}

#[tokio::test]
async fn jwks_have_entra_fields_at_every_path() {
    let e = emu();
    for path in [
        "/common/discovery/keys",
        &format!("/{CONTOSO}/discovery/keys"),
        "/discovery/keys",
    ] {
        let keys = e.get(path).await.json();
        let list = keys["keys"].as_array().expect("keys");
        assert!(list.len() >= 2, "more than one key is always published");
        for k in list {
            for f in ["kty", "use", "kid", "x5t", "n", "e", "x5c"] {
                assert!(k.get(f).is_some(), "{path}: {f} missing");
            }
            assert_eq!(k["kid"], k["x5t"]);
            assert!(k.get("issuer").is_none(), "v1 key sets carry no issuer");
        }
    }
    for path in [
        format!("/{CONTOSO}/discovery/v2.0/keys"),
        "/discovery/v2.0/keys".into(),
        "/common/discovery/v2.0/keys".into(),
    ] {
        let keys = e.get(&path).await.json();
        assert!(
            keys["keys"][0]["issuer"]
                .as_str()
                .expect("issuer")
                .ends_with("/v2.0"),
            "{path}"
        );
    }
}

/// Validates like a resource server: discovery → jwks_uri → key by kid → RS256, aud, iss.
async fn validate(e: &Emu, token: &str, tenant: &str) -> Result<Value, String> {
    let disc = e
        .get(&format!("/{tenant}/.well-known/openid-configuration"))
        .await
        .json();
    let jwks_path = disc["jwks_uri"]
        .as_str()
        .expect("jwks")
        .trim_start_matches(ORIGIN)
        .to_owned();
    let jwks = e.get(&jwks_path).await.json();
    let header = jsonwebtoken::decode_header(token).map_err(|err| err.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or("kid not published")?;
    let dk = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().expect("n"),
        key["e"].as_str().expect("e"),
    )
    .map_err(|err| err.to_string())?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[MDE]);
    v.set_issuer(&[disc["issuer"].as_str().expect("issuer")]);
    v.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
    jsonwebtoken::decode::<Value>(token, &dk, &v)
        .map(|d| d.claims)
        .map_err(|err| err.to_string())
}

#[tokio::test]
async fn tokens_validate_through_discovery_and_survive_rotation() {
    let e = emu();
    let old = e.token(CONTOSO).await;
    let claims = validate(&e, &old, CONTOSO).await.expect("valid");
    assert_eq!(claims["tid"], CONTOSO);
    let before = jsonwebtoken::decode_header(&old).expect("h").kid;
    let r = e.admin("POST", "/_emulator/keys/rotate", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new = e.token(CONTOSO).await;
    let after = jsonwebtoken::decode_header(&new).expect("h").kid;
    assert_ne!(before, after, "new tokens use the new key");
    assert_eq!(r.json()["active_kid"], after.clone().expect("kid").as_str());
    validate(&e, &new, CONTOSO).await.expect("new token valid");
    validate(&e, &old, CONTOSO)
        .await
        .expect("old token valid during the grace period");
    // A token whose signature was tampered with fails.
    let mut parts: Vec<String> = new.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    assert!(validate(&e, &parts.join("."), CONTOSO).await.is_err());
}

#[tokio::test]
async fn rotated_key_leaves_after_grace() {
    let mut scenario = SCENARIO.replace("[emulator]\n", "[emulator]\nkey_grace_minutes = 0\n");
    scenario.push('\n');
    let s = mdep_emulator::scenario::Scenario::parse(&scenario, std::path::Path::new("t.toml"))
        .expect("scenario");
    let state = mdep_emulator::Emulator::open(None, s.open_options()).expect("emu");
    s.apply(&state).expect("apply");
    let e = Emu {
        app: mdep_emulator::app(state.clone(), "https"),
        state,
    };
    let old = e.token(CONTOSO).await;
    e.admin("POST", "/_emulator/keys/rotate", None).await;
    let err = validate(&e, &old, CONTOSO)
        .await
        .expect_err("old key no longer published");
    assert!(err.contains("not published"), "{err}");
}

#[tokio::test]
async fn instance_discovery_answers_for_this_host_only() {
    let e = emu();
    let r = e.get(&format!("/common/discovery/instance?api-version=1.1&authorization_endpoint={ORIGIN}/common/oauth2/authorize")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        v["tenant_discovery_endpoint"],
        format!("{ORIGIN}/organizations/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(v["metadata"][0]["preferred_network"], HOST);
    e.get("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.evil.example/common/oauth2/authorize")
        .await
        .entra_error(400, "invalid_instance", 50049);
}
