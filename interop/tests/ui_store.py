"""A store the way a partner gets one: an emulator with TENANTS consented customers of
ALERTS alerts each (plus one that never consented and one without Score.Read.All),
`mdep tenants check --db` and `mdep sync --db` into SQLite, then `mdep ui` over it.

Used by test_ui_browser.py and by interop/bench_ui.py; sizes come from the environment
(UI_TENANTS, UI_ALERTS) so the bench can use the same store.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import EmulatorProcess, _mdep_bin
from helpers import Emulator

ADMIN_KEY = "ui-store-admin-key-0123456789"
PARTNER = "5b1f3c2e-8d4a-4f6b-9c7e-2a1d0e9f8b34"
APP = "7a0c1e2d-3f4b-4c5d-8e6f-9a0b1c2d3e4f"
SECRET = "Ui8Q~store.Secret_0123456789-abcdefghijKLM"
PERMISSIONS = ["Alert.Read.All", "Machine.Read.All", "Score.Read.All"]


def tenant_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def tags_of(i: int) -> list[str]:
    tags = ["eu" if i % 2 == 0 else "us"]
    if i % 10 == 0:
        tags.append("gold")
    return tags


@dataclass
class UiStore:
    emulator: Emulator
    db: Path
    config: Path
    env: dict
    tenants: int
    alerts: int
    sync_seconds: float

    def mdep(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([_mdep_bin(), *args], env=self.env, capture_output=True, text=True,
                           timeout=900)
        if check and p.returncode not in (0, 3):
            raise AssertionError(f"mdep {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
        return p


def scenario(n: int, alerts: int) -> str:
    s = (f'[emulator]\nadmin_key = "{ADMIN_KEY}"\nmde_page_size = 10000\n'
         'mde_calls_per_minute = 1000000\nmde_calls_per_hour = 100000000\n\n'
         f'[[tenants]]\nid = "{PARTNER}"\nname = "Fabrikam"\ndomain = "fabrikam.onmicrosoft.com"\n'
         'admin = { user = "admin@fabrikam.onmicrosoft.com", password = "p" }\n')
    for i in range(n + 2):
        s += (f'\n[[tenants]]\nid = "{tenant_id(i)}"\nname = "Customer{i:03d}"\n'
              f'domain = "customer{i}.onmicrosoft.com"\n'
              f'admin = {{ user = "admin@customer{i}.onmicrosoft.com", password = "p" }}\n'
              f'devices = 25\nalerts = {alerts if i < n else 10}\nseed = {i}\n')
    s += (f'\n[[apps]]\nclient_id = "{APP}"\nname = "Overview"\nhome_tenant = "{PARTNER}"\n'
          f'permissions = {json.dumps(PERMISSIONS)}\nsecrets = [{{ value = "{SECRET}" }}]\n')
    for i in range(n):
        s += f'\n[[consents]]\ntenant = "{tenant_id(i)}"\napp = "{APP}"\n'
    # Customer n+1 consented without Score.Read.All; customer n never consented.
    s += (f'\n[[consents]]\ntenant = "{tenant_id(n + 1)}"\napp = "{APP}"\n'
          'roles = ["Alert.Read.All", "Machine.Read.All"]\n')
    return s


def config(emu: Emulator, n: int) -> str:
    s = (f'authority_host = "{emu.base_url}"\napi_base = "{emu.base_url}"\n'
         f'ca_file = "{emu.ca_file}"\ntoken_version = "v2"\n'
         f'required_permissions = {json.dumps(PERMISSIONS)}\n\n'
         f'[partner]\nclient_id = "{APP}"\nsecret_env = "MDEP_CLIENT_SECRET"\n\n'
         '[api]\ncalls_per_minute = 1000000\ncalls_per_hour = 100000000\nconcurrency = 8\n')
    for i in range(n + 2):
        s += f'\n[[tenants]]\nname = "Customer{i:03d}"\ntenant = "{tenant_id(i)}"\ntags = {json.dumps(tags_of(i))}\n'
    return s


def build(dir: Path, n: int, alerts: int) -> tuple[UiStore, EmulatorProcess]:
    dir.mkdir(parents=True, exist_ok=True)
    scen = dir / "scenario.toml"
    scen.write_text(scenario(n, alerts))
    proc = EmulatorProcess(dir / "emulator", dir / "emulator.log")
    proc.cmd = [_mdep_bin(), "emulator", "serve", "--listen", "127.0.0.1:0",
                "--state-dir", str(dir / "emulator"), "--scenario", str(scen)]
    emu = proc.start()
    cfg = dir / "config.toml"
    cfg.write_text(config(emu, n))
    env = {**os.environ, "MDEP_CONFIG": str(cfg), "MDEP_CLIENT_SECRET": SECRET,
           "NO_COLOR": "1"}
    env.pop("MDEP_DB", None)
    db = dir / "ui.db"
    store = UiStore(emu, db, cfg, env, n, alerts, 0.0)
    store.mdep("tenants", "check", "--db", f"sqlite:{db}", "-o", "json")
    t0 = time.monotonic()
    store.mdep("sync", "--all-tenants", "--db", f"sqlite:{db}", "--entities", "alerts,machines",
               "-o", "json")
    store.sync_seconds = time.monotonic() - t0
    return store, proc


class UiProcess:
    """`mdep ui --db …`: the first line it prints is the link with the token."""

    def __init__(self, store: UiStore, log: Path):
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [_mdep_bin(), "ui", "--db", f"sqlite:{store.db}"], env=store.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise AssertionError(f"mdep ui printed {line!r}; see {log}")
        self.link = line
        self.base = line.split("/?token=")[0]
        self.token = line.split("token=")[1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
