"""Shared constants and small helpers for the interop tests.

Everything the tests know about the seeded world comes from
interop/scenario.toml, so that file and the assertions cannot drift apart.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
import msal
import requests

INTEROP_DIR = Path(__file__).resolve().parent.parent
SCENARIO_PATH = INTEROP_DIR / "scenario.toml"
SCENARIO = tomllib.loads(SCENARIO_PATH.read_text(encoding="utf-8"))

ADMIN_KEY = SCENARIO["emulator"]["admin_key"]
LIFETIME_S = SCENARIO["emulator"]["token_lifetime_minutes"] * 60

_TENANTS = {t["name"]: t for t in SCENARIO["tenants"]}
FABRIKAM = _TENANTS["Fabrikam"]  # the ISV's home tenant
CONTOSO = _TENANTS["Contoso"]  # consented, all roles
NORTHWIND = _TENANTS["Northwind Traders"]  # never consented
TAILSPIN = _TENANTS["Tailspin Toys"]  # consented, Alert.Read.All only
LITWARE = _TENANTS["Litware"]  # consented, no role granted

APP = SCENARIO["apps"][0]
CLIENT_ID = APP["client_id"]
SECRET = APP["secrets"][0]["value"]
APP_ROLES = sorted(APP["permissions"])
GRAPH_ROLES = sorted(APP.get("graph_permissions", []))

# Resources Microsoft Defender for Endpoint accepts (WindowsDefenderATP).
MDE_API = "https://api.securitycenter.microsoft.com"
MDE_API_NEW = "https://api.security.microsoft.com"
MDE_ATP_SERVICE = "https://securitycenter.onmicrosoft.com/windowsatpservice"
MDE_APP_ID = "fc780465-2017-40d4-a0c5-307022471b92"
MDE_RESOURCES = [MDE_API, MDE_API_NEW, MDE_ATP_SERVICE, MDE_APP_ID]
MDE_SCOPE = MDE_API + "/.default"

PERMISSION_DISPLAY = {
    "Alert.Read.All": "Read all alerts",
    "Machine.Read.All": "Read all machine profiles",
    "Machine.Isolate": "Isolate machine",
}


@dataclass
class Emulator:
    base_url: str
    ca_file: str
    admin_key: str
    state_dir: Path
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1].rstrip("/"))

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    # --- admin API -----------------------------------------------------
    def _admin(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.admin_key}")
        return requests.request(
            method,
            self.url("/_emulator/" + path.lstrip("/")),
            headers=headers,
            verify=self.ca_file,
            timeout=15,
            **kw,
        )

    def admin_get(self, path: str, **kw) -> requests.Response:
        return self._admin("GET", path, **kw)

    def admin_post(self, path: str, body: dict | None = None, **kw) -> requests.Response:
        return self._admin("POST", path, json=body if body is not None else {}, **kw)

    def admin_delete(self, path: str, **kw) -> requests.Response:
        return self._admin("DELETE", path, **kw)

    def state(self) -> dict:
        r = self.admin_get("state")
        assert r.status_code == 200, f"GET /_emulator/state -> {r.status_code} {r.text}"
        return r.json()

    def service_principal(self, tenant_id: str, client_id: str) -> dict | None:
        for sp in self.state()["service_principals"]:
            if sp["tenant"].lower() == tenant_id.lower() and sp["app"].lower() == client_id.lower():
                return sp
        return None

    def create_tenant(self, name: str) -> dict:
        """A fresh customer tenant with a known admin; returns id/domain/admin."""
        tid = str(uuid.uuid4())
        label = name.lower().replace(" ", "") + tid[:8]
        body = {
            "id": tid,
            "name": name,
            "domain": f"{label}.onmicrosoft.com",
            "admin": {"user": f"admin@{label}.onmicrosoft.com", "password": f"Pw-{uuid.uuid4().hex[:12]}!"},
        }
        r = self.admin_post("tenants", body)
        assert r.status_code == 201, f"POST /_emulator/tenants -> {r.status_code} {r.text}"
        return body

    def create_app(self, name: str, redirect_uris: list[str], permissions: list[str]) -> dict:
        body = {
            "name": name,
            "home_tenant": FABRIKAM["id"],
            "multi_tenant": True,
            "redirect_uris": redirect_uris,
            "permissions": permissions,
        }
        r = self.admin_post("apps", body)
        assert r.status_code == 201, f"POST /_emulator/apps -> {r.status_code} {r.text}"
        app = r.json()
        assert uuid.UUID(app["client_id"]), app
        return app

    def add_secret(self, client_id: str, expires: str | None = None) -> dict:
        body = {} if expires is None else {"expires": expires}
        r = self.admin_post(f"apps/{client_id}/secrets", body)
        assert r.status_code == 201, f"POST secrets -> {r.status_code} {r.text}"
        return r.json()


# --- tokens --------------------------------------------------------------

def decode_unverified(token: str) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def msal_app(emu: Emulator, tenant: str, credential, client_id: str = CLIENT_ID):
    """A brand-new MSAL client (MSAL replays HTTP 400s from memory for 60 s,
    so no test shares one)."""
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{emu.base_url}/{tenant}",
        instance_discovery=False,
        verify=emu.ca_file,
    )


def msal_token(emu: Emulator, tenant: str, credential, scope: str = MDE_SCOPE,
               client_id: str = CLIENT_ID) -> dict:
    result = msal_app(emu, tenant, credential, client_id).acquire_token_for_client([scope])
    assert "access_token" in result, f"MSAL token request failed: {json.dumps(result, indent=1)}"
    return result


def now() -> int:
    return int(time.time())


def b64url(data: bytes, pad: bool = False) -> str:
    s = base64.urlsafe_b64encode(data).decode()
    return s if pad else s.rstrip("=")


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest().upper()


def rfc3339(delta: _dt.timedelta) -> str:
    return (_dt.datetime.now(_dt.timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_aad_error(body: dict, error: str, code: int) -> None:
    """Entra error JSON (entra-oauth.md §2.1) with a given AADSTS code."""
    assert body.get("error") == error, body
    assert body.get("error_codes") == [code], body
    assert isinstance(body["error_codes"][0], int), body
    assert body.get("error_description", "").startswith(f"AADSTS{code}:"), body
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert key in body, f"{key} missing from {body}"
