#!/usr/bin/env bash
# The Python front's tests: a fresh virtualenv (target/py-test), the
# package installed from python/ as a user installs it (`pip install
# ./python`: maturin builds the wheel), then pytest on python/tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# A module left by `maturin develop` would go into the wheel beside the
# fresh one.
rm -f python/pysrc/eddy/_eddy*.so
venv=target/py-test
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "./python[test]" ./python/bytewax-compat
# The oracle: Bytewax 0.21.1 itself, from PyPI, in a virtualenv of its own
# (its `bytewax` module would clash with the compatibility package).
oracle=target/py-bytewax
if [ ! -x "$oracle/bin/python" ] || ! "$oracle/bin/python" -c "import bytewax.operators" 2>/dev/null; then
  rm -rf "$oracle"
  python3 -m venv "$oracle"
  "$oracle/bin/pip" install -q --upgrade pip
  "$oracle/bin/pip" install -q bytewax==0.21.1
fi
export EDDY_BYTEWAX_PYTHON="$PWD/$oracle/bin/python"
"$venv/bin/python" -m pytest -q python/tests "$@"
