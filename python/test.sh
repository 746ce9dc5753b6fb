#!/usr/bin/env bash
# The Python front's tests: a fresh virtualenv (target/py-test), the
# package installed from python/ as a user installs it (`pip install
# ./python`: maturin builds the wheel), then pytest on python/tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-test
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "./python[test]"
"$venv/bin/python" -m pytest -q python/tests "$@"
