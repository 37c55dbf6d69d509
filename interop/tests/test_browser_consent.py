"""Admin consent in a real browser (Debian's headless Chromium driven by
Selenium through Debian's chromedriver; nothing is downloaded).

The emulator's certificate is accepted with
--ignore-certificate-errors-spki-list=<sha256 of the server's and the CA's
SubjectPublicKeyInfo>, which trusts exactly those keys (it only works
together with --user-data-dir, which every driver here gets), rather than
--ignore-certificate-errors, which would trust anything.

Screenshots of the consent page go to $INTEROP_ARTIFACTS_DIR (default
<tmp>/mdep-interop-artifacts); they are not part of the repository.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from helpers import FABRIKAM, MDE_SCOPE, PERMISSION_DISPLAY, decode_unverified, msal_app, msal_token

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("INTEROP_ARTIFACTS_DIR",
                                Path(tempfile.gettempdir()) / "mdep-interop-artifacts"))
PERMISSIONS = ["Alert.Read.All", "Machine.Read.All"]
WAIT_S = 15


# --- the app's redirect target: a tiny local HTTP server -----------------

class Landing:
    def __init__(self):
        self.hits: list[dict] = []
        self._cond = threading.Condition()
        landing = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parsed = urlparse(self.path)
                if parsed.path == "/landing":
                    with landing._cond:
                        landing.hits.append(parse_qs(parsed.query, keep_blank_values=True))
                        landing._cond.notify_all()
                body = b"<!doctype html><title>Fabrikam landing</title><h1>Fabrikam landing</h1>"
                self.send_response(200 if parsed.path == "/landing" else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/landing"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_state(self, state: str, timeout: float = WAIT_S) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for q in self.hits:
                    if q.get("state") == [state]:
                        return q
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no redirect with state={state} reached {self.url}; got {self.hits}")
                self._cond.wait(left)

    def saw_state(self, state: str) -> bool:
        with self._cond:
            return any(q.get("state") == [state] for q in self.hits)


@pytest.fixture(scope="module")
def landing():
    server = Landing()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def consent_app(emulator, landing) -> dict:
    """A fresh multi-tenant app whose redirect URI is the landing server."""
    name = f"Fabrikam SOC Connector {uuid.uuid4().hex[:6]}"
    app = emulator.create_app(name, [landing.url], PERMISSIONS)
    assert app["name"] == name
    app["secret"] = emulator.add_secret(app["client_id"])["value"]
    return app


# --- the browser ---------------------------------------------------------

def _spki_sha256_b64(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def spki_list(emulator) -> str:
    leaf_pem = ssl.get_server_certificate(("127.0.0.1", emulator.port))
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    ca = x509.load_pem_x509_certificate(Path(emulator.ca_file).read_bytes())
    return ",".join([_spki_sha256_b64(leaf), _spki_sha256_b64(ca)])


@pytest.fixture
def browser(spki_list):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(f"need {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium, chromium-driver)")
    profile = tempfile.mkdtemp(prefix="mdep-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--no-proxy-server", "--window-size=1280,900",
        f"--ignore-certificate-errors-spki-list={spki_list}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver):
    # A condition that reads the page while a form submission navigates away finds the
    # old document's element stale: poll again rather than fail.
    return WebDriverWait(driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,))


def sign_in(driver, user: str, password: str) -> None:
    """Fill the Entra-style sign-in form: one page with both fields, or the
    two-step form (login, Next, passwd, Sign in)."""
    try:
        login = _wait(driver).until(EC.visibility_of_element_located((By.NAME, "login")))
    except Exception as exc:
        raise AssertionError(f"no sign-in form at {driver.current_url}:\n{body_text(driver)[:2000]}") from exc
    login.clear()
    login.send_keys(user)
    passwd = [e for e in driver.find_elements(By.NAME, "passwd") if e.is_displayed()]
    if not passwd:
        driver.find_element(By.ID, "idSIButton9").click()
        passwd = [_wait(driver).until(EC.visibility_of_element_located((By.NAME, "passwd")))]
    passwd[0].clear()
    passwd[0].send_keys(password)
    _wait(driver).until(EC.element_to_be_clickable((By.ID, "idSIButton9"))).click()


def body_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for_consent_page(driver):
    try:
        return _wait(driver).until(EC.element_to_be_clickable((By.ID, "idBtn_Accept")))
    except Exception as exc:  # show what the browser is looking at
        raise AssertionError(f"no consent page at {driver.current_url}:\n{body_text(driver)[:2000]}") from exc


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), path
    return path


def seed_consent_link(emulator, client_id: str, redirect_uri: str, state: str) -> str:
    # The partner guide's consent link, with the app's redirect URI and a state.
    query = urlencode({"prompt": "consent", "client_id": client_id, "response_type": "code",
                       "sso_reload": "true", "redirect_uri": redirect_uri, "state": state})
    return emulator.url(f"/common/oauth2/authorize?{query}")


def assert_token_roles(emulator, tenant_id, app, roles):
    result = msal_token(emulator, tenant_id, app["secret"], client_id=app["client_id"])
    _, claims = decode_unverified(result["access_token"])
    assert claims["tid"] == tenant_id
    assert sorted(claims.get("roles", [])) == sorted(roles), claims


# --- tests -----------------------------------------------------------------

def test_consent_accept(emulator, browser, landing, consent_app):
    tenant = emulator.create_tenant("Woodgrove Bank")
    state = uuid.uuid4().hex
    browser.get(seed_consent_link(emulator, consent_app["client_id"], landing.url, state))
    _wait(browser).until(EC.visibility_of_element_located((By.NAME, "login")))
    screenshot(browser, "sign-in-page")
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"])
    accept = wait_for_consent_page(browser)
    assert browser.find_element(By.ID, "idBtn_Cancel").is_displayed()
    text = body_text(browser)
    assert consent_app["name"] in text, text
    for permission in PERMISSIONS:
        assert PERMISSION_DISPLAY[permission] in text, text
    shot = screenshot(browser, "consent-page")
    print(f"consent page screenshot: {shot}")
    assert not landing.saw_state(state)

    accept.click()
    query = landing.wait_for_state(state)
    print(f"landing query: {query}")
    assert query.get("admin_consent") == ["True"], query
    assert query.get("tenant") == [tenant["id"]], query
    assert query.get("code", [""])[0], query
    assert "error" not in query, query
    _wait(browser).until(lambda d: d.current_url.startswith(landing.url))

    sp = emulator.service_principal(tenant["id"], consent_app["client_id"])
    assert sp is not None and sorted(sp["roles"]) == PERMISSIONS, sp
    assert_token_roles(emulator, tenant["id"], consent_app, PERMISSIONS)


def test_consent_cancel(emulator, browser, landing, consent_app):
    tenant = emulator.create_tenant("Adventure Works")
    state = uuid.uuid4().hex
    browser.get(seed_consent_link(emulator, consent_app["client_id"], landing.url, state))
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"])
    wait_for_consent_page(browser)
    browser.find_element(By.ID, "idBtn_Cancel").click()

    query = landing.wait_for_state(state)
    print(f"landing query: {query}")
    assert query.get("error") == ["access_denied"], query
    assert query.get("error_description", [""])[0], query
    assert "code" not in query, query
    assert emulator.service_principal(tenant["id"], consent_app["client_id"]) is None

    result = msal_app(emulator, tenant["id"], consent_app["secret"],
                      client_id=consent_app["client_id"]).acquire_token_for_client([MDE_SCOPE])
    assert result.get("error_codes") == [700016], result
    assert "AADSTS700016" in result["error_description"]


def test_wrong_password(emulator, browser, landing, consent_app):
    tenant = emulator.create_tenant("Proseware")
    state = uuid.uuid4().hex
    browser.get(seed_consent_link(emulator, consent_app["client_id"], landing.url, state))
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"] + "x")
    _wait(browser).until(lambda d: "AADSTS50126" in body_text(d))
    screenshot(browser, "wrong-password")
    assert not [e for e in browser.find_elements(By.ID, "idBtn_Accept") if e.is_displayed()]
    time.sleep(0.3)
    assert not landing.saw_state(state)
    assert emulator.service_principal(tenant["id"], consent_app["client_id"]) is None


@pytest.mark.parametrize("endpoint", ["adminconsent", "v2.0/adminconsent", "authorize-admin_consent"])
def test_other_admin_consent_endpoints_accept(emulator, browser, landing, consent_app, endpoint):
    tenant = emulator.create_tenant("Fourth Coffee")
    state = uuid.uuid4().hex
    params = {"client_id": consent_app["client_id"], "redirect_uri": landing.url, "state": state}
    if endpoint == "v2.0/adminconsent":
        params["scope"] = "https://api.securitycenter.microsoft.com/.default"
    if endpoint == "authorize-admin_consent":
        endpoint = "oauth2/authorize"
        params.update(response_type="code", prompt="admin_consent")
    browser.get(emulator.url(f"/{tenant['domain']}/{endpoint}?{urlencode(params)}"))
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"])
    wait_for_consent_page(browser).click()
    query = landing.wait_for_state(state)
    print(f"landing query: {query}")
    assert query.get("admin_consent") == ["True"], query
    assert query.get("tenant") == [tenant["id"]], query
    assert ("code" in query) == (endpoint == "oauth2/authorize"), query
    if endpoint == "oauth2/authorize":
        assert query.get("session_state", [""])[0], query
    if endpoint == "v2.0/adminconsent":
        assert query.get("scope") == [params["scope"]], query
    assert_token_roles(emulator, tenant["id"], consent_app, PERMISSIONS)


def test_legacy_adminconsent_cancel(emulator, browser, landing, consent_app):
    tenant = emulator.create_tenant("Lucerne Publishing")
    state = uuid.uuid4().hex
    params = {"client_id": consent_app["client_id"], "redirect_uri": landing.url, "state": state}
    browser.get(emulator.url(f"/{tenant['id']}/adminconsent?{urlencode(params)}"))
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"])
    wait_for_consent_page(browser)
    browser.find_element(By.ID, "idBtn_Cancel").click()
    query = landing.wait_for_state(state)
    print(f"landing query: {query}")
    assert query.get("error") == ["permission_denied"], query
    assert query.get("error_description", [""])[0], query
    assert emulator.service_principal(tenant["id"], consent_app["client_id"]) is None


def test_new_permission_needs_reconsent(emulator, browser, landing):
    app = emulator.create_app(f"Fabrikam Responder {uuid.uuid4().hex[:6]}", [landing.url], ["Alert.Read.All"])
    app["secret"] = emulator.add_secret(app["client_id"])["value"]
    tenant = emulator.create_tenant("Wide World Importers")
    r = emulator.admin_post("consents", {"tenant": tenant["id"], "app": app["client_id"]})
    assert r.status_code == 201, r.text
    assert_token_roles(emulator, tenant["id"], app, ["Alert.Read.All"])

    r = emulator.admin_post(f"apps/{app['client_id']}/permissions", {"permission": "Machine.Isolate"})
    assert r.status_code == 200, r.text
    # Adding a permission to the registration grants nothing in onboarded tenants.
    assert_token_roles(emulator, tenant["id"], app, ["Alert.Read.All"])

    state = uuid.uuid4().hex
    browser.get(seed_consent_link(emulator, app["client_id"], landing.url, state))
    sign_in(browser, tenant["admin"]["user"], tenant["admin"]["password"])
    accept = wait_for_consent_page(browser)
    assert PERMISSION_DISPLAY["Machine.Isolate"] in body_text(browser)
    accept.click()
    assert landing.wait_for_state(state).get("admin_consent") == ["True"]
    assert_token_roles(emulator, tenant["id"], app, ["Alert.Read.All", "Machine.Isolate"])


def test_unregistered_redirect_uri_never_redirects(emulator, consent_app):
    params = {"prompt": "consent", "client_id": consent_app["client_id"], "response_type": "code",
              "sso_reload": "true", "redirect_uri": "https://attacker.example/collect", "state": "s"}
    r = requests.get(emulator.url(f"/common/oauth2/authorize?{urlencode(params)}"),
                     verify=emulator.ca_file, allow_redirects=False, timeout=10)
    assert not (300 <= r.status_code < 400), (r.status_code, r.headers)
    assert "attacker.example" not in r.headers.get("Location", "")
    assert "AADSTS50011" in r.text


@pytest.mark.parametrize("uri,accepted", [
    ("http://localhost:8400/callback", True),
    ("http://127.0.0.1/callback", True),
    ("https://fabrikam.example/callback", True),
    ("http://fabrikam.example/callback", False),
])
def test_redirect_uri_scheme_rules(emulator, uri, accepted):
    r = emulator.admin_post("apps", {"name": "Redirect check", "home_tenant": FABRIKAM["id"],
                                     "multi_tenant": True, "redirect_uris": [uri],
                                     "permissions": ["Alert.Read.All"]})
    if accepted:
        assert r.status_code == 201, r.text
    else:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
