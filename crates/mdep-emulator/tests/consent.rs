//! Admin consent through the web pages, as a browser would drive them: open the link,
//! sign in as the Global Administrator, Accept or Cancel, follow the redirect.

mod common;
use common::*;
use serde_json::json;

fn seed_link(tenant: &str) -> String {
    // The seed's consent link, as Microsoft's partner page prints it.
    format!(
        "/{tenant}/oauth2/authorize?prompt=consent&client_id={APP}&response_type=code&sso_reload=true"
    )
}

#[tokio::test]
async fn accept_through_the_seed_link_grants_the_roles() {
    let e = emu();
    let link = format!(
        "{}&redirect_uri=http%3A%2F%2Flocalhost%3A9999%2Flanding&state=xyz",
        seed_link("common")
    );
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    assert_eq!(consent.status, 200);
    let html = consent.text();
    assert!(html.contains("Fabrikam SOC Connector"));
    assert!(
        html.contains("Fabrikam (fabrikam.onmicrosoft.com)"),
        "publisher tenant shown"
    );
    assert!(html.contains("Read all alerts") && html.contains("Read all machine profiles"));
    assert!(html.contains("idBtn_Accept") && html.contains("idBtn_Cancel"));
    let done = decide(&e, &link, &consent, "accept").await;
    assert_eq!(done.status, 302);
    let loc = done.location().expect("redirect");
    assert!(loc.starts_with("http://localhost:9999/landing?"), "{loc}");
    let q = query(&loc);
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["tenant"], WOODGROVE);
    assert_eq!(q["state"], "xyz");
    assert!(
        !q["code"].is_empty(),
        "the v1 authorize flow returns a code"
    );
    let (_, c) = decode(&e.token(WOODGROVE).await);
    assert_eq!(c["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
    // The page cannot be replayed.
    let again = decide(&e, &link, &consent, "accept").await;
    assert_ne!(again.status, 302);
}

#[tokio::test]
async fn without_redirect_uri_the_first_registered_one_is_used() {
    let e = emu();
    let link = seed_link("woodgrove.onmicrosoft.com");
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let done = decide(&e, &link, &consent, "accept").await;
    assert!(
        done.location()
            .expect("redirect")
            .starts_with("https://portal.azure.com?")
    );
}

#[tokio::test]
async fn cancel_leaves_no_consent() {
    let e = emu();
    let link = format!("{}&state=s1", seed_link("common"));
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let done = decide(&e, &link, &consent, "cancel").await;
    assert_eq!(done.status, 302);
    let q = query(&done.location().expect("redirect"));
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_description"].starts_with("AADSTS65004"));
    assert_eq!(q["state"], "s1");
    assert!(
        e.state
            .directory()
            .service_principals
            .keys()
            .all(|(t, _)| t.to_string() != WOODGROVE)
    );
}

#[tokio::test]
async fn wrong_password_and_wrong_directory_show_errors_and_consent_nothing() {
    let e = emu();
    let link = seed_link("common");
    let r = sign_in(&e, &link, "admin@woodgrove.onmicrosoft.com", "nope").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("AADSTS50126"), "{}", r.text());
    assert!(
        r.text().contains("idSIButton9"),
        "the sign-in form is shown again"
    );
    let r = sign_in(
        &e,
        &seed_link(CONTOSO),
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    assert!(
        r.text().contains("AADSTS50034"),
        "a tenant-specific link needs that tenant's admin"
    );
    let r = sign_in(
        &e,
        &link,
        "someone@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    assert!(r.text().contains("AADSTS50034"));
    assert!(
        e.state
            .directory()
            .service_principals
            .keys()
            .all(|(t, _)| t.to_string() != WOODGROVE)
    );
}

#[tokio::test]
async fn unregistered_redirect_uri_is_refused_on_the_page() {
    let e = emu();
    let r = e
        .get(&format!(
            "{}&redirect_uri=https%3A%2F%2Fevil.example%2Fsteal",
            seed_link("common")
        ))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.location().is_none(), "never redirected");
    assert!(r.text().contains("AADSTS50011"));
    let r = e.get("/common/oauth2/authorize?prompt=consent&client_id=66666666-6666-6666-6666-666666666666&response_type=code").await;
    assert!(r.text().contains("AADSTS700016"));
    let r = e
        .get(&format!(
            "/common/oauth2/authorize?prompt=consent&client_id={APP}"
        ))
        .await;
    assert!(
        r.text().contains("AADSTS900144"),
        "response_type is required"
    );
    let r = e.get(&format!("/nobody.onmicrosoft.com/oauth2/authorize?prompt=consent&client_id={APP}&response_type=code")).await;
    assert!(r.text().contains("AADSTS90002"));
    let r = e.get(&format!("/common/oauth2/authorize?prompt=consent&client_id={APP}&response_type=code&redirect_uri=%22%3E%3Cscript%3E")).await;
    assert!(!r.text().contains("<script>"), "input is escaped");
}

#[tokio::test]
async fn single_tenant_apps_cannot_be_consented_by_customers() {
    let e = emu();
    let link = format!(
        "/common/oauth2/authorize?prompt=admin_consent&client_id={SINGLE_APP}&response_type=code"
    );
    let r = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    assert!(r.text().contains("AADSTS50194"), "{}", r.text());
}

#[tokio::test]
async fn legacy_and_v2_admin_consent_endpoints() {
    let e = emu();
    let link = format!(
        "/{WOODGROVE}/adminconsent?client_id={APP}&state=12345&redirect_uri=https%3A%2F%2Fportal.azure.com"
    );
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let q = query(
        &decide(&e, &link, &consent, "cancel")
            .await
            .location()
            .expect("redirect"),
    );
    assert_eq!(q["error"], "permission_denied");
    assert_eq!(q["state"], "12345");
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let q = query(
        &decide(&e, &link, &consent, "accept")
            .await
            .location()
            .expect("redirect"),
    );
    assert_eq!(
        (
            q["admin_consent"].as_str(),
            q["tenant"].as_str(),
            q["state"].as_str()
        ),
        ("True", WOODGROVE, "12345")
    );
    assert!(!q.contains_key("code"));

    let e = emu();
    let link = format!(
        "/organizations/v2.0/adminconsent?client_id={APP}&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com&state=v2"
    );
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let q = query(
        &decide(&e, &link, &consent, "accept")
            .await
            .location()
            .expect("redirect"),
    );
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["tenant"], WOODGROVE);
    assert_eq!(
        q["scope"],
        "https://api.securitycenter.microsoft.com/.default"
    );
    let bad = e.get(&format!("/organizations/v2.0/adminconsent?client_id={APP}&scope=https%3A%2F%2Fgraph.microsoft.com%2FUser.Read")).await;
    assert!(bad.text().contains("AADSTS70011"));
}

#[tokio::test]
async fn reconsent_after_a_new_permission_adds_the_role() {
    let e = emu();
    e.admin(
        "POST",
        &format!("/_emulator/apps/{APP}/permissions"),
        Some(json!({"permission": "Machine.Isolate"})),
    )
    .await;
    let (_, c) = decode(&e.token(CONTOSO).await);
    assert!(
        !c["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("Machine.Isolate"))
    );
    let link = seed_link("common");
    let consent = sign_in(&e, &link, "admin@contoso.onmicrosoft.com", "Contoso-Pass-1").await;
    assert!(consent.text().contains("Isolate machine"));
    decide(&e, &link, &consent, "accept").await;
    let (_, c) = decode(&e.token(CONTOSO).await);
    assert!(
        c["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("Machine.Isolate"))
    );
}

#[tokio::test]
async fn graph_permissions_are_listed_and_granted_and_their_token_carries_them() {
    let e = emu_with(&SCENARIO.replace(
        r#"permissions = ["Alert.Read.All", "Machine.Read.All"]"#,
        r#"permissions = ["Alert.Read.All", "Machine.Read.All"]
graph_permissions = ["ThreatHunting.Read.All", "SecurityIncident.Read.All"]"#,
    ));
    let link = seed_link(WOODGROVE);
    let consent = sign_in(
        &e,
        &link,
        "admin@woodgrove.onmicrosoft.com",
        "Woodgrove-Pass-1",
    )
    .await;
    let html = consent.text();
    assert!(
        html.contains("Run hunting queries")
            && html.contains("Read all security incidents")
            && html.contains("Microsoft Graph, application permission"),
        "{html}"
    );
    let done = decide(&e, &link, &consent, "accept").await;
    assert_eq!(done.status, 302, "{}", done.text());
    let graph = e
        .post_form(
            &format!("/{WOODGROVE}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(graph.status, 200, "{}", graph.text());
    let (_, claims) = decode(graph.json()["access_token"].as_str().expect("token"));
    assert_eq!(
        claims["roles"],
        json!(["ThreatHunting.Read.All", "SecurityIncident.Read.All"])
    );
    let (_, mde) = decode(&e.token(WOODGROVE).await);
    assert_eq!(mde["roles"], json!(["Alert.Read.All", "Machine.Read.All"]));
}
