"""All alerts of many tenants the way Microsoft's docs show it, sequentially: for each
customer tenant, a client-credentials token with MSAL (ConfidentialClientApplication,
acquire_token_for_client with the resource's /.default scope), then GET /api/alerts with
requests, following @odata.nextLink until the last page.

The anchor of the multi-tenant fetch benchmark (crates/mdep-api/benches/fanout.rs runs
it against the same emulator as mdep-api). Usage: python fetch_alerts.py CONFIG.json
where CONFIG has base, ca, client_id, secret, resource and tenants; prints the number of
alerts read.
"""

import json
import sys

import msal
import requests


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    n = 0
    for tenant in cfg["tenants"]:
        app = msal.ConfidentialClientApplication(
            cfg["client_id"],
            client_credential=cfg["secret"],
            authority=cfg["base"] + "/" + tenant,
            instance_discovery=False,
            verify=cfg["ca"],
        )
        token = app.acquire_token_for_client([cfg["resource"] + "/.default"])["access_token"]
        url = cfg["base"] + "/api/alerts"
        while url:
            r = requests.get(url, headers={"Authorization": "Bearer " + token}, verify=cfg["ca"])
            r.raise_for_status()
            body = r.json()
            n += len(body["value"])
            url = body.get("@odata.nextLink")
    print(n)


if __name__ == "__main__":
    main()
