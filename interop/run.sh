#!/usr/bin/env bash
# Runs the interop suite: real Microsoft clients (MSAL Python, azure-identity, msgraph-sdk,
# PyJWT, curl, headless Chromium) against `mdep emulator serve`.
#
#   interop/run.sh                 # builds target/debug/mdep first
#   MDEP_BIN=/path/to/mdep interop/run.sh [extra pytest args]
#
# Needs: python3 (with venv), curl, and root for apt-get when Chromium is
# missing. Nothing is downloaded but PyPI and Debian packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$here/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "interop: creating $venv" >&2
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "interop: installing Python requirements" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "interop: installing Debian chromium and chromium-driver" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

if [[ -z "${MDEP_BIN:-}" ]]; then
    echo "interop: building mdep" >&2
    (cd "$repo" && cargo build --quiet -p mdep-cli)
    MDEP_BIN="$repo/target/debug/mdep"
fi
export MDEP_BIN

# These override `verify=` in requests (and so in MSAL); regional routing
# would send confidential clients to another host.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR \
      MSAL_FORCE_REGION AZURE_REGIONAL_AUTHORITY_NAME AZURE_AUTHORITY_HOST

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
