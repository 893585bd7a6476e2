#!/usr/bin/env bash
# Prepare this checkout on a Debian machine: the system packages trustsvc needs,
# then a virtualenv in .venv with the project and its pinned dependencies.
# Safe to run again: it installs only what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# fonts-droid-fallback: a CJK TrueType font (.ttf; pyHanko cannot read .ttc) for
# documents and seal stamps. softhsm2: PKCS#11 seal keys. postgresql: the
# production database, and the second backend of the test suite.
# fonts-dejavu-core: Latin letters and digits, which the CJK fallback font lacks.
# poppler-utils: pdftoppm, with which tests look at rendered pages as a reader would.
# chromium: the browser the page tests drive (through Playwright, never downloading one).
# openssl: the trust-bundle test checks the bundle with `openssl cms`, a verifier not ours.
# nodejs (and npm): installs axe-core, the accessibility checker the page tests run in Chromium.
system_packages=(softhsm2 fonts-droid-fallback fonts-dejavu-core postgresql poppler-utils chromium
  openssl nodejs)
command -v npm >/dev/null 2>&1 || system_packages+=(npm)
python_ok=1
python3 -c 'import venv, ensurepip' 2>/dev/null || python_ok=0
[ "$python_ok" = 1 ] || system_packages+=(python3 python3-venv python3-dev)

missing=()
for package in "${system_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  as_root apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  python3 -m venv .venv
fi
stamp=.venv/.trustsvc-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]' >&2
  echo "$wanted" > "$stamp"
fi

# The page tests' JavaScript (package-lock.json: axe-core, checked by its integrity hash).
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.trustsvc-installed 2>/dev/null)" != "$lock" ]; then
  echo "setup: installing the page tests' npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock" > node_modules/.trustsvc-installed
fi
