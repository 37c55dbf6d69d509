"""The emulator's own surface as any HTTPS client sees it: ready file, TLS,
discovery documents, Entra-shaped errors and the admin API."""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path

import pytest
import requests
from cryptography import x509

from helpers import (
    ADMIN_KEY, APP, CLIENT_ID, CONTOSO, LITWARE, NORTHWIND, TAILSPIN, assert_aad_error,
)

UNKNOWN_TENANT = "00000000-1111-2222-3333-444444444444"


def test_ready_file(emulator):
    ready = emulator.ready
    assert ready["base_url"].startswith("https://127.0.0.1:"), ready
    assert emulator.port > 0
    assert Path(ready["ca_file"]) == emulator.state_dir / "ca.pem", ready
    assert ready["admin_key"] == ADMIN_KEY, ready
    pem = Path(ready["ca_file"]).read_bytes()
    ca = x509.load_pem_x509_certificate(pem)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_server_certificate_covers_host(emulator, host):
    ctx = ssl.create_default_context(cafile=emulator.ca_file)
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=host) as tls:  # verifies chain + name
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    r = requests.get(f"https://{host}:{emulator.port}/{CONTOSO['id']}/v2.0/.well-known/openid-configuration",
                     verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("tenant_key", ["id", "domain"])
def test_v1_discovery_document(emulator, tenant_key):
    tid = CONTOSO["id"]
    r = requests.get(emulator.url(f"/{CONTOSO[tenant_key]}/.well-known/openid-configuration"),
                     verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    doc = r.json()
    assert doc["issuer"] == f"https://sts.windows.net/{tid}/"
    assert doc["jwks_uri"] == emulator.url("/common/discovery/keys")
    # Requested by domain, the endpoints are rewritten to the tenant GUID.
    assert doc["token_endpoint"] == emulator.url(f"/{tid}/oauth2/token")
    assert doc["authorization_endpoint"] == emulator.url(f"/{tid}/oauth2/authorize")


@pytest.mark.parametrize("tenant_key", ["id", "domain"])
def test_v2_discovery_document(emulator, tenant_key):
    tid = CONTOSO["id"]
    r = requests.get(emulator.url(f"/{CONTOSO[tenant_key]}/v2.0/.well-known/openid-configuration"),
                     verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, r.text
    doc = r.json()
    # MSAL takes its cache realm from the token endpoint's first path segment.
    assert doc["token_endpoint"] == emulator.url(f"/{tid}/oauth2/v2.0/token")
    assert doc["authorization_endpoint"] == emulator.url(f"/{tid}/oauth2/v2.0/authorize")
    assert tid in doc["issuer"], doc["issuer"]
    assert doc["jwks_uri"].startswith(emulator.base_url), doc["jwks_uri"]
    keys = requests.get(doc["jwks_uri"], verify=emulator.ca_file, timeout=10)
    assert keys.status_code == 200 and keys.json()["keys"], keys.text


@pytest.mark.parametrize("path", [
    f"/{UNKNOWN_TENANT}/.well-known/openid-configuration",
    f"/{UNKNOWN_TENANT}/v2.0/.well-known/openid-configuration",
    "/nosuchtenant.onmicrosoft.com/v2.0/.well-known/openid-configuration",
])
def test_discovery_unknown_tenant(emulator, path):
    r = requests.get(emulator.url(path), verify=emulator.ca_file, timeout=10)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_tenant", body
    assert body["error_codes"] == [90002], body
    assert body["error_description"].startswith("AADSTS90002: Tenant "), body


@pytest.mark.parametrize("version_path", ["oauth2/token", "oauth2/v2.0/token"])
def test_token_endpoint_unknown_tenant(emulator, version_path):
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x",
            "scope": "https://api.securitycenter.microsoft.com/.default",
            "resource": "https://api.securitycenter.microsoft.com"}
    if "v2.0" in version_path:
        del form["resource"]
    else:
        del form["scope"]
    r = requests.post(emulator.url(f"/{UNKNOWN_TENANT}/{version_path}"), data=form,
                      verify=emulator.ca_file, timeout=10)
    assert r.status_code == 400, r.text
    assert_aad_error(r.json(), "invalid_request", 90002)


def test_error_echoes_client_request_id(emulator):
    crid = "6f1c2b7e-0d8a-4c55-9a43-1e2f3a4b5c6d"
    r = requests.post(
        emulator.url(f"/{CONTOSO['id']}/oauth2/v2.0/token"),
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "wrong", "scope": "https://api.securitycenter.microsoft.com/.default"},
        headers={"client-request-id": crid}, verify=emulator.ca_file, timeout=10)
    assert r.status_code == 401, r.text
    assert_aad_error(r.json(), "invalid_client", 7000215)
    # Entra echoes the caller's id (MSAL.NET rejects a mismatch).
    assert r.headers.get("client-request-id") == crid, dict(r.headers)


def test_admin_api_requires_key(emulator):
    r = requests.get(emulator.url("/_emulator/state"), verify=emulator.ca_file, timeout=10)
    assert r.status_code == 401, r.text
    r = requests.get(emulator.url("/_emulator/state"), headers={"Authorization": "Bearer wrong"},
                     verify=emulator.ca_file, timeout=10)
    assert r.status_code in (401, 403), r.text


def test_state_reflects_scenario(emulator):
    state = emulator.state()
    tenant_ids = {t["id"] for t in state["tenants"]}
    assert {CONTOSO["id"], NORTHWIND["id"], TAILSPIN["id"]} <= tenant_ids
    assert any(a["client_id"] == CLIENT_ID and a["name"] == APP["name"] for a in state["apps"])
    # Secrets are never echoed back by the state endpoint.
    assert APP["secrets"][0]["value"] not in str(state)
    assert sorted(emulator.service_principal(CONTOSO["id"], CLIENT_ID)["roles"]) == sorted(
        APP["permissions"] + APP.get("graph_permissions", []))
    assert emulator.service_principal(TAILSPIN["id"], CLIENT_ID)["roles"] == ["Alert.Read.All"]
    assert emulator.service_principal(LITWARE["id"], CLIENT_ID)["roles"] == []
    assert emulator.service_principal(NORTHWIND["id"], CLIENT_ID) is None
    assert state["keys"], state["keys"]


def test_certificate_thumbprints(app_certificate):
    reg = app_certificate["registered"]
    assert reg["thumbprint_sha1"] == app_certificate["sha1_hex"], reg
    assert reg["thumbprint_sha256"].upper() == hashlib.sha256(app_certificate["der"]).hexdigest().upper(), reg
    assert reg["key_id"], reg


def test_secret_value_returned_once(emulator):
    created = emulator.add_secret(CLIENT_ID)
    assert set(created) >= {"key_id", "value", "hint", "expires"}, created
    assert created["value"].startswith(created["hint"]), created
    assert created["value"] not in str(emulator.state())
    r = emulator.admin_delete(f"apps/{CLIENT_ID}/secrets/{created['key_id']}")
    assert r.status_code == 204, r.text
