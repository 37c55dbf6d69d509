"""A resource server's view: validate emulator tokens with PyJWT the way an
MDE-style API would (discovery -> jwks_uri -> signature, aud, iss), and
check that signing-key rotation keeps published keys during the grace
period. The rotation test is last in this module on purpose."""

from __future__ import annotations

import base64
import json
import hashlib
import ssl
import uuid

import jwt
import pytest
import requests
from azure.identity import ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import (
    CLIENT_ID, CONTOSO, MDE_API, MDE_APP_ID, MDE_ATP_SERVICE, MDE_SCOPE, SECRET, TAILSPIN,
    b64url, decode_unverified, msal_token, now,
)


def _client_assertion(app_certificate, audience: str) -> str:
    """A certificate assertion shaped like Microsoft's documented RS256/x5t
    example (padded base64url SHA-1 thumbprint)."""
    sha1 = hashlib.sha1(app_certificate["der"]).digest()
    t = now()
    return jwt.encode(
        {"aud": audience, "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": str(uuid.uuid4()),
         "nbf": t, "iat": t, "exp": t + 600},
        app_certificate["key"],
        algorithm="RS256",
        headers={"x5t": b64url(sha1, pad=True), "typ": "JWT"},
    )


def _post_token(emulator, path: str, form: dict) -> dict:
    r = requests.post(emulator.url(path), data=form, verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, f"POST {path} -> {r.status_code} {r.text}"
    return r.json()


@pytest.fixture(scope="module")
def issued(emulator, app_certificate) -> dict:
    """name -> (access_token, expected aud, tenant id) for every way this
    suite obtains a token."""
    tid = CONTOSO["id"]
    cert_thumb = {"private_key": app_certificate["key_pem"], "thumbprint": app_certificate["sha1_hex"]}
    cert_pub = {"private_key": app_certificate["key_pem"], "public_certificate": app_certificate["cert_pem"]}
    tokens = {
        "msal-secret-v2": (msal_token(emulator, tid, SECRET)["access_token"], MDE_API, tid),
        "msal-cert-rs256-v2": (msal_token(emulator, tid, cert_thumb)["access_token"], MDE_API, tid),
        "msal-cert-ps256-v2": (msal_token(emulator, tid, cert_pub)["access_token"], MDE_API, tid),
        "msal-secret-partial-v2": (msal_token(emulator, TAILSPIN["id"], SECRET)["access_token"],
                                   MDE_API, TAILSPIN["id"]),
    }
    cred = ClientSecretCredential(tid, CLIENT_ID, SECRET, authority=emulator.base_url,
                                  disable_instance_discovery=True, connection_verify=emulator.ca_file)
    tokens["azure-identity-secret-v2"] = (cred.get_token(MDE_SCOPE).token, MDE_API, tid)
    tokens["secret-v2-atp-service"] = (_post_token(emulator, f"/{tid}/oauth2/v2.0/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
        "scope": MDE_ATP_SERVICE + "/.default"})["access_token"], MDE_ATP_SERVICE, tid)
    tokens["secret-v1"] = (_post_token(emulator, f"/{tid}/oauth2/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
        "resource": MDE_API})["access_token"], MDE_API, tid)
    tokens["secret-v1-app-id-resource"] = (_post_token(emulator, f"/{CONTOSO['domain']}/oauth2/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
        "resource": MDE_APP_ID})["access_token"], MDE_APP_ID, tid)
    tokens["cert-v1"] = (_post_token(emulator, f"/{tid}/oauth2/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "resource": MDE_API,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": _client_assertion(app_certificate, emulator.url(f"/{tid}/oauth2/token")),
    })["access_token"], MDE_API, tid)
    return tokens


TOKEN_NAMES = [
    "msal-secret-v2", "msal-cert-rs256-v2", "msal-cert-ps256-v2", "msal-secret-partial-v2",
    "azure-identity-secret-v2", "secret-v2-atp-service", "secret-v1", "secret-v1-app-id-resource",
    "cert-v1",
]


@pytest.fixture(scope="module")
def ssl_ctx(emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=emulator.ca_file)


def _discovery(emulator, tenant_id: str) -> dict:
    r = requests.get(emulator.url(f"/{tenant_id}/.well-known/openid-configuration"),
                     verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _jwks(emulator, url: str) -> dict:
    r = requests.get(url, verify=emulator.ca_file, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def validate(emulator, ssl_ctx, token: str, aud: str, tenant_id: str) -> dict:
    """Validate as a resource server would; returns the verified claims."""
    disco = _discovery(emulator, tenant_id)
    client = jwt.PyJWKClient(disco["jwks_uri"], ssl_context=ssl_ctx, cache_jwk_set=False)
    signing_key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience=aud, issuer=disco["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "tid"]},
    )
    kids = [k["kid"] for k in _jwks(emulator, disco["jwks_uri"])["keys"]]
    assert jwt.get_unverified_header(token)["kid"] in kids
    return claims


@pytest.mark.parametrize("name", TOKEN_NAMES)
def test_token_validates(emulator, ssl_ctx, issued, name):
    token, aud, tid = issued[name]
    claims = validate(emulator, ssl_ctx, token, aud, tid)
    assert claims["iss"] == f"https://sts.windows.net/{tid}/"
    assert claims["tid"] == tid
    assert claims["appidacr"] == ("2" if "cert" in name else "1")


@pytest.mark.parametrize("name", ["msal-secret-v2", "cert-v1"])
def test_tampered_or_misaddressed_token_rejected(emulator, ssl_ctx, issued, name):
    token, aud, tid = issued[name]
    with pytest.raises(jwt.InvalidAudienceError):
        validate(emulator, ssl_ctx, token, "https://graph.microsoft.com", tid)
    with pytest.raises(jwt.InvalidIssuerError):
        validate(emulator, ssl_ctx, token, aud, TAILSPIN["id"] if tid != TAILSPIN["id"] else CONTOSO["id"])
    head, body, sig = token.split(".")
    _, claims = decode_unverified(token)
    forged = dict(claims, roles=["Machine.Isolate"])
    forged_body = b64url(json.dumps(forged).encode())
    with pytest.raises(jwt.InvalidSignatureError):
        validate(emulator, ssl_ctx, f"{head}.{forged_body}.{sig}", aud, tid)


def test_jwks_shape_and_routes(emulator, issued):
    tid = CONTOSO["id"]
    kid = jwt.get_unverified_header(issued["msal-secret-v2"][0])["kid"]
    common = _jwks(emulator, emulator.url("/common/discovery/keys"))
    assert len(common["keys"]) >= 2, "Entra always publishes more than one key"
    for path in (f"/{tid}/discovery/keys", f"/{tid}/discovery/v2.0/keys",
                 f"/{CONTOSO['domain']}/discovery/v2.0/keys"):
        assert kid in [k["kid"] for k in _jwks(emulator, emulator.url(path))["keys"]], path
    for jwk in common["keys"]:
        assert jwk["kty"] == "RSA" and jwk["use"] == "sig" and jwk["e"] == "AQAB", jwk
        assert jwk["x5t"] == jwk["kid"], jwk
        der = base64.b64decode(jwk["x5c"][0])
        # kid == x5t == base64url(SHA-1(cert DER)), 27 chars.
        assert jwk["kid"] == b64url(hashlib.sha1(der).digest()), jwk
        assert len(jwk["kid"]) == 27
        cert_key = x509.load_der_x509_certificate(der).public_key()
        assert isinstance(cert_key, rsa.RSAPublicKey)
        n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
        assert cert_key.public_numbers().n == n, "x5c certificate does not match n"
        assert cert_key.key_size >= 2048


def test_key_rotation_keeps_old_tokens_valid(emulator, ssl_ctx, issued):
    old_token, aud, tid = issued["msal-secret-v2"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    r = emulator.admin_post("keys/rotate")
    assert r.status_code == 200, r.text

    new_token = msal_token(emulator, tid, SECRET)["access_token"]  # fresh MSAL cache
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid

    kids = [k["kid"] for k in _jwks(emulator, emulator.url("/common/discovery/keys"))["keys"]]
    assert old_kid in kids and new_kid in kids, kids
    validate(emulator, ssl_ctx, new_token, aud, tid)
    validate(emulator, ssl_ctx, old_token, aud, tid)
    # Every token issued before the rotation is still verifiable.
    for name in TOKEN_NAMES:
        token, aud_, tid_ = issued[name]
        validate(emulator, ssl_ctx, token, aud_, tid_)
    # And v1 tokens are now signed with the new key too.
    v1 = _post_token(emulator, f"/{tid}/oauth2/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
        "resource": MDE_API})["access_token"]
    assert jwt.get_unverified_header(v1)["kid"] == new_kid
    validate(emulator, ssl_ctx, v1, MDE_API, tid)
