"""Starts `mdep emulator serve` once per session and hands its coordinates
to the tests.

The binary is $MDEP_BIN, else target/debug/mdep in this repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from helpers import CLIENT_ID, INTEROP_DIR, SCENARIO_PATH, Emulator, sha1_hex

# These variables silently override `verify=` in requests (so MSAL would not
# trust the emulator CA) or send confidential clients to a regional host.
for _var in (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "MSAL_FORCE_REGION",
    "AZURE_REGIONAL_AUTHORITY_NAME",
    "AZURE_AUTHORITY_HOST",
):
    os.environ.pop(_var, None)
# Loopback traffic never goes through a proxy.
_no_proxy = "127.0.0.1,localhost"
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(x for x in (os.environ.get(_var), _no_proxy) if x)

READY_TIMEOUT_S = float(os.environ.get("MDEP_READY_TIMEOUT", "30"))


def _mdep_bin() -> str:
    explicit = os.environ.get("MDEP_BIN")
    if explicit:
        return explicit
    return str(INTEROP_DIR.parent / "target" / "debug" / "mdep")


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no output>"
    return text[-limit:] if text else "<empty>"


class EmulatorProcess:
    """One `mdep emulator serve` process; `start()` waits for ready.json."""

    def __init__(self, state_dir: Path, log_path: Path, extra_args: list[str] | None = None):
        self.state_dir = Path(state_dir)
        self.log_path = Path(log_path)
        self.cmd = [
            _mdep_bin(), "emulator", "serve",
            "--listen", "127.0.0.1:0",
            "--state-dir", str(self.state_dir),
            "--scenario", str(SCENARIO_PATH),
            *(extra_args or []),
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> Emulator:
        binary = self.cmd[0]
        if not os.path.exists(binary):
            pytest.fail(f"mdep binary not found at {binary} (set MDEP_BIN or run `cargo build -p mdep-cli`)")
        ready_path = self.state_dir / "ready.json"
        ready_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"emulator exited with code {self.proc.returncode} before writing {ready_path}\n"
                    f"command: {' '.join(self.cmd)}\noutput:\n{_tail(self.log_path)}"
                )
            if ready_path.exists():
                try:
                    ready = json.loads(ready_path.read_text())
                except (json.JSONDecodeError, OSError):
                    ready = None  # still being written
                if ready:
                    emu = Emulator(
                        base_url=ready["base_url"],
                        ca_file=ready["ca_file"],
                        admin_key=ready["admin_key"],
                        state_dir=self.state_dir,
                        log_path=self.log_path,
                    )
                    emu.ready = ready
                    return emu
            time.sleep(0.05)
        self.stop()
        pytest.fail(
            f"emulator did not write {ready_path} within {READY_TIMEOUT_S:.0f}s\n"
            f"command: {' '.join(self.cmd)}\noutput:\n{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Emulator:
    state_dir = tmp_path_factory.mktemp("emulator-state")
    process = EmulatorProcess(state_dir, tmp_path_factory.getbasetemp() / "emulator.log")
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _emulator_log_on_failure(request, emulator):
    """Show the tail of the emulator's output when a test fails."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(f"\n--- emulator output (tail) ---\n{_tail(emulator.log_path, 2000)}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


@pytest.fixture(scope="session")
def app_certificate(emulator, tmp_path_factory) -> dict:
    """A self-signed RSA certificate registered on the scenario's app."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam SOC Connector interop")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    pem_path = tmp_path_factory.mktemp("cert") / "fabrikam-connector.pem"
    pem_path.write_text(key_pem + cert_pem)

    r = emulator.admin_post(f"apps/{CLIENT_ID}/certificates", {"pem": cert_pem})
    assert r.status_code == 201, f"POST certificates -> {r.status_code} {r.text}"
    registered = r.json()
    return {
        "key": key,
        "key_pem": key_pem,
        "cert_pem": cert_pem,
        "der": der,
        "pem_path": str(pem_path),
        "sha1_hex": sha1_hex(der),
        "registered": registered,
    }
