"""azure-identity 1.27.0 credentials, unmodified, against the emulator."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential

from helpers import (
    APP_ROLES, CLIENT_ID, CONTOSO, LIFETIME_S, MDE_API, MDE_SCOPE, NORTHWIND, SECRET,
    decode_unverified, now,
)


def _secret_credential(emulator, tenant, secret):
    return ClientSecretCredential(
        tenant, CLIENT_ID, secret,
        authority=emulator.base_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
        retry_total=0,
    )


def _check_token(token, tenant_id, appidacr):
    assert abs(token.expires_on - (now() + LIFETIME_S)) <= 60, token.expires_on
    _, claims = decode_unverified(token.token)
    assert claims["tid"] == tenant_id
    assert claims["aud"] == MDE_API
    assert claims["appid"] == CLIENT_ID
    assert claims["appidacr"] == appidacr
    assert sorted(claims["roles"]) == APP_ROLES


@pytest.mark.parametrize("tenant_key", ["id", "domain"])
def test_client_secret_credential(emulator, tenant_key):
    cred = _secret_credential(emulator, CONTOSO[tenant_key], SECRET)
    first = cred.get_token(MDE_SCOPE)
    _check_token(first, CONTOSO["id"], "1")
    # The credential caches through MSAL: a second call returns the same token.
    assert cred.get_token(MDE_SCOPE).token == first.token


@pytest.mark.parametrize("send_chain", [False, True], ids=["x5t", "x5c"])
def test_certificate_credential(emulator, app_certificate, send_chain):
    cred = CertificateCredential(
        CONTOSO["id"], CLIENT_ID,
        certificate_path=app_certificate["pem_path"],
        send_certificate_chain=send_chain,
        authority=emulator.base_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
        retry_total=0,
    )
    _check_token(cred.get_token(MDE_SCOPE), CONTOSO["id"], "2")


def test_wrong_secret_raises(emulator):
    cred = _secret_credential(emulator, CONTOSO["id"], "definitely-wrong")
    with pytest.raises(ClientAuthenticationError) as excinfo:
        cred.get_token(MDE_SCOPE)
    assert "AADSTS7000215" in str(excinfo.value), str(excinfo.value)


def test_unconsented_tenant_raises(emulator):
    cred = _secret_credential(emulator, NORTHWIND["id"], SECRET)
    with pytest.raises(ClientAuthenticationError) as excinfo:
        cred.get_token(MDE_SCOPE)
    assert "AADSTS700016" in str(excinfo.value), str(excinfo.value)
