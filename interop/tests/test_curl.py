"""curl, as the MDE partner-access guide tells customers to run it."""

from __future__ import annotations

import json
import shlex
import subprocess

from helpers import (
    APP_ROLES, CLIENT_ID, CONTOSO, LIFETIME_S, MDE_API, MDE_ATP_SERVICE, SECRET,
    decode_unverified, now,
)

# The guide's command verbatim (Windows cmd %VAR% syntax). Its two stripped
# URLs are the documented v2 scope and token endpoint.
SEED_CURL = (
    'curl -i -X POST -H "Content-Type:application/x-www-form-urlencoded" '
    '-d "grant_type=client_credentials" -d "client_id=%CLIENT_ID%" '
    '-d "scope=https://securitycenter.onmicrosoft.com/windowsatpservice/.default" '
    '-d "client_secret=%CLIENT_SECRET%" '
    '"https://login.microsoftonline.com/%TENANT_ID%/oauth2/v2.0/token" -k'
)


def _run_curl(argv: list[str]) -> tuple[int, dict, str]:
    """Runs curl with -i output; returns (status, headers, body)."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"curl exit {proc.returncode}: {proc.stderr}"
    raw = proc.stdout.replace("\r\n", "\n")
    head, _, body = raw.partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def test_seed_curl_command_v2(emulator):
    cmd = (SEED_CURL
           .replace("%CLIENT_ID%", CLIENT_ID)
           .replace("%CLIENT_SECRET%", SECRET)
           .replace("%TENANT_ID%", CONTOSO["id"])
           .replace("https://login.microsoftonline.com", emulator.base_url))
    status, headers, body = _run_curl(shlex.split(cmd))
    assert status == 200, body
    assert headers["content-type"].startswith("application/json"), headers
    assert "no-store" in headers.get("cache-control", ""), headers
    data = json.loads(body)
    assert data["token_type"] == "Bearer"
    assert type(data["expires_in"]) is int and data["expires_in"] == LIFETIME_S - 1, data
    assert type(data["ext_expires_in"]) is int, data
    assert "scope" not in data, data
    assert "refresh_token" not in data and "id_token" not in data, data
    _, claims = decode_unverified(data["access_token"])
    assert claims["aud"] == MDE_ATP_SERVICE
    assert claims["tid"] == CONTOSO["id"]
    assert sorted(claims["roles"]) == APP_ROLES


def test_powershell_v1_body_shape(emulator):
    # Invoke-RestMethod -Body $authBody (ordered: resource, client_id,
    # client_secret, grant_type) posts an urlencoded form.
    argv = [
        "curl", "-sS", "-i", "--cacert", emulator.ca_file, "-X", "POST",
        "--data-urlencode", f"resource={MDE_API}",
        "--data-urlencode", f"client_id={CLIENT_ID}",
        "--data-urlencode", f"client_secret={SECRET}",
        "--data-urlencode", "grant_type=client_credentials",
        emulator.url(f"/{CONTOSO['id']}/oauth2/token"),
    ]
    before = now()
    status, headers, body = _run_curl(argv)
    assert status == 200, body
    assert headers["content-type"].startswith("application/json"), headers
    data = json.loads(body)
    assert data["token_type"] == "Bearer"
    for key in ("expires_in", "ext_expires_in", "expires_on", "not_before"):
        assert type(data[key]) is str and data[key].isdigit(), (key, data)
    assert data["expires_in"] == str(LIFETIME_S - 1), data
    assert data["resource"] == MDE_API
    assert "scope" not in data
    expires_on, not_before = int(data["expires_on"]), int(data["not_before"])
    assert abs(expires_on - (before + LIFETIME_S)) <= 30, data
    assert expires_on - not_before == LIFETIME_S + 300, data
    _, claims = decode_unverified(data["access_token"])
    assert claims["exp"] == expires_on and claims["nbf"] == not_before, (claims, data)
    assert claims["aud"] == MDE_API
    assert claims["ver"] == "1.0"
