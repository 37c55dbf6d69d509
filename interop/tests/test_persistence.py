"""`--db PATH`: a restarted emulator keeps its directory, its CA and its
published signing keys, so clients and validators set up against the first
run keep working."""

from __future__ import annotations

import jwt
import requests

from conftest import EmulatorProcess
from helpers import CLIENT_ID, SECRET, decode_unverified, msal_token


def test_restart_with_db_keeps_state(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    process = EmulatorProcess(state_dir, tmp_path / "emulator.log",
                              ["--db", str(tmp_path / "emulator.db")])
    try:
        first = process.start()
        ca_pem = open(first.ca_file).read()
        tenant = first.create_tenant("Trey Research")
        r = first.admin_post("consents", {"tenant": tenant["id"], "app": CLIENT_ID,
                                          "roles": ["Alert.Read.All"]})
        assert r.status_code == 201, r.text
        old_token = msal_token(first, tenant["id"], SECRET)["access_token"]
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        process.stop()

        second = process.start()
        assert open(second.ca_file).read() == ca_pem, "the local CA must be created only once"
        saved_ca = tmp_path / "ca-from-first-run.pem"
        saved_ca.write_text(ca_pem)
        second.ca_file = str(saved_ca)
        assert any(t["id"] == tenant["id"] for t in second.state()["tenants"])
        sp = second.service_principal(tenant["id"], CLIENT_ID)
        assert sp is not None and sp["roles"] == ["Alert.Read.All"], sp
        # The same client id and secret still work for the persisted tenant,
        # trusting the CA file from the first run.
        new_token = msal_token(second, tenant["domain"], SECRET)["access_token"]
        _, claims = decode_unverified(new_token)
        assert claims["tid"] == tenant["id"] and claims["roles"] == ["Alert.Read.All"]
        assert claims["oid"] == sp["object_id"] == decode_unverified(old_token)[1]["oid"]
        # Tokens issued before the restart still verify.
        keys = requests.get(second.url("/common/discovery/keys"), verify=second.ca_file, timeout=10).json()
        assert old_kid in [k["kid"] for k in keys["keys"]]
    finally:
        process.stop()
