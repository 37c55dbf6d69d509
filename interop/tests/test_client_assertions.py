"""Certificate client assertions in the exact shapes other real clients send
(entra-oauth.md §3.3), built with PyJWT, and the documented rejections
(§2.2, §3.4)."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
import pytest
import requests

from helpers import CLIENT_ID, CONTOSO, MDE_API, MDE_SCOPE, b64url, decode_unverified

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _post(emulator, path: str, assertion: str, v2: bool = True) -> requests.Response:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    form.update({"scope": MDE_SCOPE} if v2 else {"resource": MDE_API})
    return requests.post(emulator.url(path), data=form, verify=emulator.ca_file, timeout=10)


def _claims(aud: str, **overrides) -> dict:
    t = int(time.time())
    claims = {"aud": aud, "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": str(uuid.uuid4()),
              "nbf": t, "iat": t, "exp": t + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_rust_azure_identity_shape(emulator, app_certificate):
    """Rust azure_identity 1.0: RS256, x5t in *standard* base64 with padding,
    x5c elements base64(PEM), no iat, 300 s lifetime, v2 token URL."""
    tid = CONTOSO["id"]
    t = int(time.time())
    token_url = emulator.url(f"/{tid}/oauth2/v2.0/token")
    assertion = jwt.encode(
        {"aud": token_url, "exp": t + 300, "iss": CLIENT_ID, "jti": str(uuid.uuid4()),
         "nbf": t, "sub": CLIENT_ID},
        app_certificate["key"], algorithm="RS256",
        headers={"x5t": base64.b64encode(hashlib.sha1(app_certificate["der"]).digest()).decode(),
                 "x5c": [base64.b64encode(app_certificate["cert_pem"].encode()).decode()]},
    )
    r = _post(emulator, f"/{tid}/oauth2/v2.0/token", assertion)
    assert r.status_code == 200, r.text
    assert decode_unverified(r.json()["access_token"])[1]["appidacr"] == "2"


def test_ps256_x5t_s256_float_times_on_v1(emulator, app_certificate):
    """MSAL-style PS256 with x5t#S256 and float exp/iat, no nbf, sent to the
    v1 endpoint by tenant domain with the v1 token URL as audience."""
    domain = CONTOSO["domain"]
    now = time.time()
    assertion = jwt.encode(
        {"aud": emulator.url(f"/{domain}/oauth2/token"), "iss": CLIENT_ID, "sub": CLIENT_ID,
         "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600},
        app_certificate["key"], algorithm="PS256",
        headers={"x5t#S256": b64url(hashlib.sha256(app_certificate["der"]).digest(), pad=True)},
    )
    r = _post(emulator, f"/{domain}/oauth2/token", assertion, v2=False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resource"] == MDE_API
    assert decode_unverified(body["access_token"])[1]["tid"] == CONTOSO["id"]


def _sign(app_certificate, claims: dict) -> str:
    x5t = b64url(hashlib.sha1(app_certificate["der"]).digest(), pad=True)
    return jwt.encode(claims, app_certificate["key"], algorithm="RS256", headers={"x5t": x5t})


@pytest.mark.parametrize("case", ["expired", "not-yet-valid"])
def test_assertion_outside_valid_time(emulator, app_certificate, case):
    tid = CONTOSO["id"]
    t = int(time.time())
    times = ({"nbf": t - 4000, "iat": t - 4000, "exp": t - 3400} if case == "expired"
             else {"nbf": t + 3600, "iat": t + 3600, "exp": t + 4200})
    r = _post(emulator, f"/{tid}/oauth2/v2.0/token",
              _sign(app_certificate, _claims(emulator.url(f"/{tid}/oauth2/v2.0/token"), **times)))
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [700024], body
    assert body["error_description"].startswith("AADSTS700024: Client assertion is not within its valid time range."), body


def test_assertion_subject_mismatch(emulator, app_certificate):
    tid = CONTOSO["id"]
    claims = _claims(emulator.url(f"/{tid}/oauth2/v2.0/token"), sub=str(uuid.uuid4()))
    r = _post(emulator, f"/{tid}/oauth2/v2.0/token", _sign(app_certificate, claims))
    assert r.status_code in (400, 401), r.text
    assert r.json()["error_codes"] == [50048], r.text
    assert "AADSTS50048: Subject mismatches Issuer claim in the client assertion." in r.text


def test_assertion_for_another_tenant_rejected(emulator, app_certificate):
    tid = CONTOSO["id"]
    other = emulator.url("/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token")
    r = _post(emulator, f"/{tid}/oauth2/v2.0/token", _sign(app_certificate, _claims(other)))
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client", r.text
