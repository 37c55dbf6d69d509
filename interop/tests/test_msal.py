"""MSAL Python (msal 1.39.0) client-credentials flows, unmodified, against
the emulator. Every test builds its own ConfidentialClientApplication."""

from __future__ import annotations

import datetime as dt

import msal
import pytest
import requests

from helpers import (
    APP_ROLES, CLIENT_ID, CONTOSO, FABRIKAM, LIFETIME_S, LITWARE, MDE_API, MDE_RESOURCES, MDE_SCOPE,
    NORTHWIND, SECRET, TAILSPIN, decode_unverified, msal_app, msal_token, now, rfc3339,
)


def _assert_app_only_claims(claims: dict, tenant_id: str, aud: str, appidacr: str) -> None:
    assert claims["aud"] == aud
    assert claims["iss"] == f"https://sts.windows.net/{tenant_id}/"
    assert claims["tid"] == tenant_id
    assert claims["appid"] == CLIENT_ID
    assert claims["appidacr"] == appidacr
    assert claims["ver"] == "1.0"
    assert claims["oid"] == claims["sub"]
    assert "scp" not in claims
    assert claims["iat"] == claims["nbf"]
    assert abs(claims["iat"] - (now() - 300)) <= 30, claims
    assert claims["exp"] - claims["iat"] == LIFETIME_S + 300, claims


def test_secret_token_and_cache(emulator):
    app = msal_app(emulator, CONTOSO["id"], SECRET)
    first = app.acquire_token_for_client([MDE_SCOPE])
    assert "access_token" in first, first
    assert first["token_type"] == "Bearer"
    assert first["token_source"] == "identity_provider"
    assert LIFETIME_S - 60 <= first["expires_in"] <= LIFETIME_S, first
    header, claims = decode_unverified(first["access_token"])
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"] and header["x5t"] == header["kid"], header
    _assert_app_only_claims(claims, CONTOSO["id"], MDE_API, "1")
    assert sorted(claims["roles"]) == APP_ROLES
    # oid/sub is the app's service principal in the customer tenant.
    sp = emulator.service_principal(CONTOSO["id"], CLIENT_ID)
    assert claims["oid"] == sp["object_id"]

    second = app.acquire_token_for_client([MDE_SCOPE])
    assert second["token_source"] == "cache", second
    assert second["access_token"] == first["access_token"]


def test_domain_authority_realm_is_guid(emulator):
    app = msal_app(emulator, CONTOSO["domain"], SECRET)
    assert app.authority.tenant == CONTOSO["id"]
    result = app.acquire_token_for_client([MDE_SCOPE])
    assert "access_token" in result, result
    _, claims = decode_unverified(result["access_token"])
    assert claims["tid"] == CONTOSO["id"]
    cached = list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN))
    assert [c["realm"] for c in cached] == [CONTOSO["id"]], cached
    assert app.acquire_token_for_client([MDE_SCOPE])["token_source"] == "cache"


def test_oidc_authority(emulator):
    # entra-oauth.md §7.1.8: discovery at {oidc_authority}/.well-known/...,
    # and MSAL requires the issuer to share scheme and host with it.
    app = msal.ConfidentialClientApplication(
        CLIENT_ID, client_credential=SECRET, oidc_authority=f"{emulator.base_url}/{CONTOSO['id']}/v2.0",
        verify=emulator.ca_file)
    result = app.acquire_token_for_client([MDE_SCOPE])
    assert "access_token" in result, result
    assert decode_unverified(result["access_token"])[1]["tid"] == CONTOSO["id"]
    assert app.acquire_token_for_client([MDE_SCOPE])["token_source"] == "cache"


@pytest.mark.parametrize("resource", MDE_RESOURCES)
def test_every_mde_resource_is_accepted(emulator, resource):
    result = msal_token(emulator, CONTOSO["id"], SECRET, scope=f"{resource}/.default")
    _, claims = decode_unverified(result["access_token"])
    assert claims["aud"] == resource
    assert sorted(claims["roles"]) == APP_ROLES


def test_partial_consent_grants_only_consented_roles(emulator):
    _, claims = decode_unverified(msal_token(emulator, TAILSPIN["id"], SECRET)["access_token"])
    assert claims["tid"] == TAILSPIN["id"]
    assert claims["roles"] == ["Alert.Read.All"]


def test_no_granted_role_means_no_roles_claim(emulator):
    _, claims = decode_unverified(msal_token(emulator, LITWARE["id"], SECRET)["access_token"])
    assert claims["tid"] == LITWARE["id"]
    assert "roles" not in claims, claims


def test_home_tenant_without_grant_has_no_roles(emulator):
    # The registration's own tenant has the app's service principal, but the
    # permissions take effect only after "Grant consent" (partner guide, step 2).
    _, claims = decode_unverified(msal_token(emulator, FABRIKAM["id"], SECRET)["access_token"])
    assert claims["tid"] == FABRIKAM["id"]
    assert "roles" not in claims, claims
    assert emulator.service_principal(FABRIKAM["id"], CLIENT_ID)["roles"] == []


def test_certificate_thumbprint_rs256(emulator, app_certificate):
    cred = {"private_key": app_certificate["key_pem"], "thumbprint": app_certificate["sha1_hex"]}
    result = msal_token(emulator, CONTOSO["id"], cred)
    _, claims = decode_unverified(result["access_token"])
    _assert_app_only_claims(claims, CONTOSO["id"], MDE_API, "2")
    assert sorted(claims["roles"]) == APP_ROLES


def test_certificate_public_certificate_ps256(emulator, app_certificate):
    cred = {"private_key": app_certificate["key_pem"], "public_certificate": app_certificate["cert_pem"]}
    app = msal_app(emulator, CONTOSO["domain"], cred)
    result = app.acquire_token_for_client([MDE_SCOPE])
    assert "access_token" in result, result
    _, claims = decode_unverified(result["access_token"])
    _assert_app_only_claims(claims, CONTOSO["id"], MDE_API, "2")


def test_unregistered_certificate_rejected(emulator, app_certificate):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    # Registered thumbprint, wrong key: found, but the signature fails.
    result = msal_app(emulator, CONTOSO["id"],
                      {"private_key": pem, "thumbprint": app_certificate["sha1_hex"]}
                      ).acquire_token_for_client([MDE_SCOPE])
    assert result.get("error") == "invalid_client", result
    assert result.get("error_codes") == [700027], result
    # Unknown thumbprint: key not found.
    result = msal_app(emulator, CONTOSO["id"],
                      {"private_key": pem, "thumbprint": "AB" * 20}).acquire_token_for_client([MDE_SCOPE])
    assert result.get("error") == "invalid_client", result
    assert result.get("error_codes") == [700027], result
    assert "ABABABAB" in result["error_description"], result


def test_wrong_secret(emulator):
    result = msal_app(emulator, CONTOSO["id"], "not-the-secret").acquire_token_for_client([MDE_SCOPE])
    assert "access_token" not in result
    assert result["error"] == "invalid_client", result
    assert result["error_codes"] == [7000215], result
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided."), result
    assert CLIENT_ID in result["error_description"]


def test_unconsented_tenant(emulator):
    result = msal_app(emulator, NORTHWIND["id"], SECRET).acquire_token_for_client([MDE_SCOPE])
    assert "access_token" not in result
    assert result["error"] == "unauthorized_client", result
    assert result["error_codes"] == [700016], result
    desc = result["error_description"]
    assert desc.startswith(f"AADSTS700016: Application with identifier '{CLIENT_ID}' was not found in the directory"), desc


def test_unknown_tenant_fails_discovery(emulator):
    # entra-oauth.md §7.1: tenant discovery answers 400 invalid_tenant and
    # MSAL raises ValueError while constructing the app.
    with pytest.raises(ValueError) as excinfo:
        msal_app(emulator, "00000000-aaaa-bbbb-cccc-000000000000", SECRET)
    assert "Unable to get authority configuration" in str(excinfo.value)
    cause = str(excinfo.value.__context__)
    assert "HTTP status: 400" in cause, cause
    assert "invalid_tenant" in cause and "AADSTS90002" in cause, cause


def test_expired_secret(emulator):
    expired = emulator.add_secret(CLIENT_ID, expires=rfc3339(-dt.timedelta(days=1)))
    try:
        result = msal_app(emulator, CONTOSO["id"], expired["value"]).acquire_token_for_client([MDE_SCOPE])
        assert result.get("error") == "invalid_client", result
        assert result.get("error_codes") == [7000222], result
    finally:
        emulator.admin_delete(f"apps/{CLIENT_ID}/secrets/{expired['key_id']}")


def test_added_then_deleted_secret(emulator):
    created = emulator.add_secret(CLIENT_ID, expires=rfc3339(dt.timedelta(days=30)))
    msal_token(emulator, CONTOSO["id"], created["value"])
    r = emulator.admin_delete(f"apps/{CLIENT_ID}/secrets/{created['key_id']}")
    assert r.status_code == 204, r.text
    result = msal_app(emulator, CONTOSO["id"], created["value"]).acquire_token_for_client([MDE_SCOPE])
    assert result.get("error_codes") == [7000215], result


def test_scope_without_default_suffix(emulator):
    result = msal_app(emulator, CONTOSO["id"], SECRET).acquire_token_for_client(
        [MDE_API + "/Alert.Read.All"])
    assert result.get("error") == "invalid_scope", result
    assert result.get("error_codes") == [1002012], result


def test_scopes_for_two_resources(emulator):
    # Real Entra answers 70011 for several /.default scopes in one
    # client-credentials request (e.g. Azure/azure-sdk-for-net#9076).
    scope = f"{MDE_SCOPE} https://graph.microsoft.com/.default"
    r = requests.post(
        emulator.url(f"/{CONTOSO['id']}/oauth2/v2.0/token"),
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": SECRET, "scope": scope},
        verify=emulator.ca_file, timeout=10)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_scope" and body["error_codes"] == [70011], body
    assert f"The scope {scope} is not valid" in body["error_description"], body


@pytest.mark.parametrize("tenant", ["common", "consumers"])
def test_common_endpoint_rejects_client_credentials(emulator, tenant):
    # MSAL itself would discover /common; the token endpoint is what matters.
    r = requests.post(
        emulator.url(f"/{tenant}/oauth2/v2.0/token"),
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": SECRET, "scope": MDE_SCOPE},
        verify=emulator.ca_file, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error_codes"] == [9001023], r.text
