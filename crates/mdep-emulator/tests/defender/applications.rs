//! Graph's application API on the emulator: an app registered, given a password, its
//! home service principal and its roles through Graph is at once usable for admin
//! consent in a customer tenant and for client-credentials tokens; the bodies are
//! Microsoft's documented ones (`tests/fixtures/graph/application_*`,
//! `serviceprincipal_*`); the role, tenant isolation and bad bodies in Graph's envelope.

use super::graph::{keys, sample};
use super::*;
use serde_json::json;

const ALERT_READ_ID: &str = "71fe6b80-7034-4028-9ed8-0f316df9c3ff";
const MACHINE_READ_ID: &str = "ea8291d3-4b9a-44b5-bc3a-6cea3026dc79";
const LANDING: &str = "https://soc.fabrikam.example/landing";

/// A Graph token of `APP` in `tenant` holding the roles that register apps and grant
/// their permissions.
async fn bootstrap(e: &Emu, tenant: &str) -> String {
    e.graph_token_with(
        tenant,
        &[
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ],
    )
    .await
}

fn partner_app_body(name: &str) -> Value {
    json!({
        "displayName": name,
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": [LANDING]},
        "requiredResourceAccess": [{
            "resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92",
            "resourceAccess": [
                {"id": ALERT_READ_ID, "type": "Role"},
                {"id": MACHINE_READ_ID, "type": "Role"}
            ]
        }]
    })
}

async fn token_by_secret(e: &Emu, tenant: &str, client: &str, secret: &str) -> Reply {
    e.post_form(
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", &format!("{MDE}/.default")),
        ],
    )
    .await
}

fn roles_of(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, c) = decode(r.json()["access_token"].as_str().expect("token"));
    c["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn created_apps_answer_with_the_documented_keys() {
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let r = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(sample("application_create_request")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let doc = sample("application_create_response");
    assert!(keys(&doc).is_subset(&keys(&v)), "{v}");
    for k in [
        "api",
        "info",
        "web",
        "parentalControlSettings",
        "publicClient",
    ] {
        assert_eq!(keys(&doc[k]), keys(&v[k]), "{k}: {v}");
    }
    assert_eq!(v["displayName"], "Display name");
    assert_eq!(v["signInAudience"], "AzureADMyOrg", "Graph's default");
    assert_eq!(v["publisherDomain"], "fabrikam.onmicrosoft.com");
    assert_ne!(v["id"], v["appId"], "object id and app id differ");
    let created = v["createdDateTime"].as_str().expect("createdDateTime");
    let documented = doc["createdDateTime"].as_str().expect("documented");
    assert_eq!(
        created.len(),
        documented.len(),
        "{created} is written like {documented}"
    );
    assert!(created.ends_with('Z'));
    assert!(
        v["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with("/v1.0/$metadata#applications/$entity")),
        "{v}"
    );

    let r = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(sample("application_create_with_password_request")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let doc = sample("application_create_with_password_response");
    assert!(keys(&doc).is_subset(&keys(&v)), "{v}");
    let pw = &v["passwordCredentials"][0];
    assert_eq!(keys(&doc["passwordCredentials"][0]), keys(pw), "{v}");
    assert_eq!(pw["displayName"], "Password name");
    let secret = pw["secretText"].as_str().expect("secretText");
    assert_eq!(&secret[..3], pw["hint"].as_str().expect("hint"));
    // Read back, the value is gone.
    let id = v["id"].as_str().expect("id");
    let r = e
        .graph("GET", &format!("/v1.0/applications/{id}"), Some(&t), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["passwordCredentials"][0]["secretText"],
        Value::Null
    );
}

#[tokio::test]
async fn an_app_made_through_graph_is_consented_and_issues_tokens_like_a_scenario_app() {
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let r = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(partner_app_body("Fabrikam MDR")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let app = r.json();
    assert_eq!(app["signInAudience"], "AzureADMultipleOrgs");
    assert_eq!(
        app["requiredResourceAccess"],
        partner_app_body("x")["requiredResourceAccess"]
    );
    let (id, client) = (
        app["id"].as_str().expect("id").to_owned(),
        app["appId"].as_str().expect("appId").to_owned(),
    );

    // addPassword with the documented body, by the appId key form.
    let r = e
        .graph(
            "POST",
            &format!("/v1.0/applications(appId='{client}')/addPassword"),
            Some(&t),
            Some(sample("application_addPassword_request")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pw = r.json();
    let doc = sample("application_addPassword_response");
    assert!(keys(&doc).is_subset(&keys(&pw)), "{pw}");
    let secret = pw["secretText"].as_str().expect("secretText").to_owned();

    // No service principal in the home tenant yet: Graph leaves it to the caller.
    let r = token_by_secret(&e, PARTNER, &client, &secret).await;
    r.entra_error(400, "unauthorized_client", 700016);

    // The home tenant's service principal, then the "Grant admin consent" click.
    let r = e
        .graph(
            "POST",
            "/v1.0/servicePrincipals",
            Some(&t),
            Some(json!({"appId": client})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sp = r.json();
    let doc = sample("serviceprincipal_create_response");
    assert_eq!(keys(&doc), keys(&sp), "{sp}");
    let principal = sp["id"].as_str().expect("sp id").to_owned();
    let again = e
        .graph(
            "POST",
            "/v1.0/servicePrincipals",
            Some(&t),
            Some(json!({"appId": client})),
        )
        .await;
    again.graph_error(409, "Request_MultipleObjectsWithSameKeyValue");

    let r = e
        .graph(
            "GET",
            "/v1.0/servicePrincipals?$filter=appId eq 'fc780465-2017-40d4-a0c5-307022471b92'",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mde = first(&r.json()).clone();
    assert_eq!(mde["displayName"], "WindowsDefenderATP");
    assert!(
        mde["appRoles"]
            .as_array()
            .expect("appRoles")
            .iter()
            .any(|r| r["id"] == ALERT_READ_ID && r["value"] == "Alert.Read.All")
    );
    let resource = mde["id"].as_str().expect("resource id").to_owned();
    let path = format!("/v1.0/servicePrincipals/{resource}/appRoleAssignedTo");
    for role in [ALERT_READ_ID, MACHINE_READ_ID] {
        let body = json!({"principalId": principal, "resourceId": resource, "appRoleId": role});
        let r = e.graph("POST", &path, Some(&t), Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let a = r.json();
        let doc = sample("serviceprincipal_approleassignedto_response");
        assert_eq!(keys(&doc), keys(&a), "{a}");
        assert_eq!(a["principalType"], "ServicePrincipal");
        assert_eq!(a["resourceDisplayName"], "WindowsDefenderATP");
    }
    let dup = json!({"principalId": principal, "resourceId": resource, "appRoleId": ALERT_READ_ID});
    let m = e
        .graph("POST", &path, Some(&t), Some(dup))
        .await
        .graph_error(400, "Request_BadRequest");
    assert!(m.contains("already exists"), "{m}");
    let r = e.graph("GET", &path, Some(&t), None).await;
    let listed = r.json()["value"].as_array().expect("value").clone();
    assert!(
        listed
            .iter()
            .filter(|a| a["principalId"] == principal.as_str())
            .count()
            == 2,
        "{listed:?}"
    );

    let roles = roles_of(&token_by_secret(&e, PARTNER, &client, &secret).await);
    assert_eq!(roles, ["Alert.Read.All", "Machine.Read.All"]);

    // A customer's administrator consents through the usual pages.
    let link =
        format!("/{CONTOSO}/oauth2/authorize?prompt=consent&client_id={client}&response_type=code");
    let page = sign_in(&e, &link, "admin@contoso.onmicrosoft.com", "Contoso-Pass-1").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Fabrikam MDR") && page.text().contains("Read all alerts"));
    let done = decide(&e, &link, &page, "accept").await;
    assert_eq!(done.status, 302, "{}", done.text());
    assert!(done.location().expect("redirect").starts_with(LANDING));
    let roles = roles_of(&token_by_secret(&e, CONTOSO, &client, &secret).await);
    assert_eq!(roles, ["Alert.Read.All", "Machine.Read.All"]);

    // removePassword: the secret stops working at once.
    let key_id = pw["keyId"].as_str().expect("keyId");
    let r = e
        .graph(
            "POST",
            &format!("/v1.0/applications/{id}/removePassword"),
            Some(&t),
            Some(json!({"keyId": key_id})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = token_by_secret(&e, CONTOSO, &client, &secret).await;
    assert_eq!(r.status, 401, "{}", r.text());
}

#[tokio::test]
async fn filters_patch_and_the_app_id_key_form() {
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let r = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(partner_app_body("O'Neil SOC")),
        )
        .await;
    let app = r.json();
    let client = app["appId"].as_str().expect("appId");
    let r = e
        .graph(
            "GET",
            "/v1.0/applications?$filter=displayName eq 'O''Neil SOC'&$select=appId,displayName",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        keys(first(&v)),
        ["appId", "displayName", "id"].map(String::from).into()
    );
    let r = e
        .graph(
            "GET",
            &format!("/v1.0/applications?$filter=appId eq '{client}'"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.json()["value"][0]["displayName"], "O'Neil SOC");
    let beta = e
        .graph(
            "GET",
            &format!("/beta/applications(appId='{client}')"),
            Some(&t),
            None,
        )
        .await
        .json();
    assert_eq!(beta["appId"], client, "{beta}");
    assert!(
        beta["@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("/beta/$metadata#applications/$entity")),
        "{beta}"
    );
    let none = e
        .graph(
            "GET",
            "/v1.0/applications?$filter=displayName eq 'Nobody'",
            Some(&t),
            None,
        )
        .await;
    assert_eq!(none.json()["value"], json!([]));

    // PATCH: a permission added, a Graph one too; 204, then read back.
    let patch = json!({"requiredResourceAccess": [
        {"resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92",
         "resourceAccess": [{"id": ALERT_READ_ID, "type": "Role"}]},
        {"resourceAppId": "00000003-0000-0000-c000-000000000000",
         "resourceAccess": [{"id": "dd98c7f5-2d42-42d3-a0e4-633161547251", "type": "Role"}]}
    ]});
    let key = format!("/v1.0/applications(appId='{client}')");
    let r = e.graph("PATCH", &key, Some(&t), Some(patch.clone())).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let got = e.graph("GET", &key, Some(&t), None).await.json();
    assert_eq!(
        got["requiredResourceAccess"],
        patch["requiredResourceAccess"]
    );
    let perms = &e.state.directory().apps[&client.parse().expect("uuid")].permissions;
    assert_eq!(perms, &["Alert.Read.All", "ThreatHunting.Read.All"]);
}

#[tokio::test]
async fn bodies_with_the_sdks_odata_type_annotations_are_read() {
    // As msgraph-sdk (Kiota) serialises an Application and its nested objects.
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let body = json!({
        "@odata.type": "#microsoft.graph.application",
        "displayName": "SDK app",
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"@odata.type": "#microsoft.graph.webApplication", "redirectUris": [LANDING]},
        "requiredResourceAccess": [{
            "@odata.type": "#microsoft.graph.requiredResourceAccess",
            "resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92",
            "resourceAccess": [{"@odata.type": "#microsoft.graph.resourceAccess", "id": ALERT_READ_ID, "type": "Role"}]
        }]
    });
    let r = e
        .graph("POST", "/v1.0/applications", Some(&t), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let pw = json!({"passwordCredential": {"@odata.type": "#microsoft.graph.passwordCredential", "displayName": "sdk"}});
    let r = e
        .graph(
            "POST",
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(&t),
            Some(pw),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["displayName"], "sdk");
}

#[tokio::test]
async fn certificates_go_in_by_patch_then_add_key_needs_a_proof_signed_by_one() {
    use base64::Engine;
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let app = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(partner_app_body("Cert app")),
        )
        .await
        .json();
    let id = app["id"].as_str().expect("id").to_owned();
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let (first_cert, second) = (cert(), cert());
    let mut add = sample("application_addKey_request");
    add["keyCredential"]["key"] = json!(b64(&second.der));
    add["proof"] = json!("not.a.jwt");
    let path = format!("/v1.0/applications/{id}/addKey");
    let m = e
        .graph("POST", &path, Some(&t), Some(add.clone()))
        .await
        .graph_error(400, "Request_BadRequest");
    assert!(m.contains("PATCH"), "no certificate yet: {m}");

    let patch = json!({"keyCredentials": [{
        "type": "AsymmetricX509Cert", "usage": "Verify", "key": b64(&first_cert.der),
        "displayName": "CN=soc"
    }]});
    let r = e
        .graph(
            "PATCH",
            &format!("/v1.0/applications/{id}"),
            Some(&t),
            Some(patch),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    let m = e
        .graph("POST", &path, Some(&t), Some(add.clone()))
        .await
        .graph_error(400, "Request_BadRequest");
    assert!(m.contains("proof"), "{m}");
    let claims = json!({
        "aud": "00000002-0000-0000-c000-000000000000",
        "iss": id,
        "nbf": now(),
        "exp": now() + 600,
    });
    add["proof"] = json!(assertion(&first_cert, Style::Rs256X5t, claims.clone()));
    let r = e.graph("POST", &path, Some(&t), Some(add.clone())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let k = r.json();
    assert!(keys(&sample("application_addKey_response")).is_subset(&keys(&k)));
    assert_eq!(k["type"], "AsymmetricX509Cert");
    // Signed by a certificate the app does not have: refused.
    add["proof"] = json!(assertion(&cert(), Style::Rs256X5t, claims));
    e.graph("POST", &path, Some(&t), Some(add))
        .await
        .graph_error(400, "Request_BadRequest");
    let got = e
        .graph("GET", &format!("/v1.0/applications/{id}"), Some(&t), None)
        .await
        .json();
    assert_eq!(
        got["keyCredentials"].as_array().map(Vec::len),
        Some(2),
        "{got}"
    );
}

#[tokio::test]
async fn without_application_readwrite_all_the_403_names_it() {
    let e = demu();
    let t = e
        .graph_token_with(PARTNER, &["SecurityAlert.Read.All"])
        .await;
    let m = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&t),
            Some(partner_app_body("x")),
        )
        .await
        .graph_error(403, "Authorization_RequestDenied");
    assert!(m.contains("Application.ReadWrite.All"), "{m}");
    assert!(m.contains("Insufficient privileges"), "{m}");
    // Registering is not granting: appRoleAssignedTo needs AppRoleAssignment.ReadWrite.All.
    let t = e
        .graph_token_with(PARTNER, &["Application.ReadWrite.All"])
        .await;
    let resource =
        e.state.directory().tenants[&PARTNER.parse().expect("uuid")].defender_sp_object_id;
    let m = e
        .graph(
            "POST",
            &format!("/v1.0/servicePrincipals/{resource}/appRoleAssignedTo"),
            Some(&t),
            Some(sample("serviceprincipal_approleassignedto_request")),
        )
        .await
        .graph_error(403, "Authorization_RequestDenied");
    assert!(m.contains("AppRoleAssignment.ReadWrite.All"), "{m}");
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_applications() {
    let e = demu();
    let partner = bootstrap(&e, PARTNER).await;
    let app = e
        .graph(
            "POST",
            "/v1.0/applications",
            Some(&partner),
            Some(partner_app_body("Mine")),
        )
        .await
        .json();
    let (id, client) = (
        app["id"].as_str().expect("id"),
        app["appId"].as_str().expect("appId"),
    );
    let contoso = bootstrap(&e, CONTOSO).await;
    e.graph(
        "GET",
        &format!("/v1.0/applications/{id}"),
        Some(&contoso),
        None,
    )
    .await
    .graph_error(404, "Request_ResourceNotFound");
    let listed = e
        .graph("GET", "/v1.0/applications", Some(&contoso), None)
        .await
        .json();
    assert_eq!(listed["value"], json!([]), "{listed}");
    e.graph(
        "POST",
        &format!("/v1.0/applications(appId='{client}')/addPassword"),
        Some(&contoso),
        None,
    )
    .await
    .graph_error(404, "Request_ResourceNotFound");
    let mine = e
        .graph("GET", "/v1.0/applications", Some(&partner), None)
        .await
        .json();
    let names: Vec<&str> = mine["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|a| a["displayName"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Fabrikam SOC Connector", "Fabrikam Reporting", "Mine"]
    );
}

#[tokio::test]
async fn bad_bodies_are_400_in_graphs_envelope() {
    let e = demu();
    let t = bootstrap(&e, PARTNER).await;
    let post = |body: Value| e.graph("POST", "/v1.0/applications", Some(&t), Some(body));
    for (body, says) in [
        (json!({}), "displayName"),
        (json!({"displayName": 3}), "displayName"),
        (json!({"displayName": "x", "colour": "red"}), "colour"),
        (
            json!({"displayName": "x", "signInAudience": "PersonalMicrosoftAccount"}),
            "signInAudience",
        ),
        (
            json!({"displayName": "x", "web": {"redirectUris": ["ftp://x"]}}),
            "ftp://x",
        ),
        (json!({"displayName": "x", "tags": ["kept?"]}), "tags"),
        (
            json!({"displayName": "x", "requiredResourceAccess": [{"resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92", "resourceAccess": [{"id": ALERT_READ_ID, "type": "Scope"}]}]}),
            "Scope",
        ),
        (
            json!({"displayName": "x", "requiredResourceAccess": [{"resourceAppId": "fc780465-2017-40d4-a0c5-307022471b92", "resourceAccess": [{"id": "00000000-0000-0000-0000-000000000001", "type": "Role"}]}]}),
            "app role id",
        ),
    ] {
        let m = post(body.clone())
            .await
            .graph_error(400, "Request_BadRequest");
        assert!(m.contains(says), "{body}: {m}");
    }
    let r = e
        .send(
            Request::post("/v1.0/applications")
                .header("host", "graph.localhost")
                .header("authorization", format!("Bearer {t}"))
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .expect("request"),
        )
        .await;
    r.graph_error(400, "Request_BadRequest");
    let app = post(partner_app_body("ok")).await.json();
    let id = app["id"].as_str().expect("id");
    let m = e
        .graph(
            "PATCH",
            &format!("/v1.0/applications/{id}"),
            Some(&t),
            Some(json!({"passwordCredentials": [{"displayName": "p"}]})),
        )
        .await
        .graph_error(400, "Request_BadRequest");
    assert!(m.contains("addPassword"), "{m}");
    assert!(
        e.state.directory().apps.values().all(|a| a.name != "x"),
        "nothing made"
    );
}
