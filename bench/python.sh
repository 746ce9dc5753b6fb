#!/usr/bin/env bash
# The Python front against Bytewax 0.21.1 on the tutorial's flow
# (bench/python_tutorial.py), each in its own virtualenv made by
# python/test.sh (target/py-test: eddy + bytewax-on-eddy; target/py-bytewax:
# Bytewax from PyPI). EVENTS and USERS as in the issue: 1 M and 100 k.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
USERS=${USERS:-100000}
[ -x target/py-test/bin/python ] && [ -x target/py-bytewax/bin/python ] || bash python/test.sh -q >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
echo "bytewax 0.21.1, 1 worker: $(target/py-bytewax/bin/python bench/python_tutorial.py "$EVENTS" "$USERS")"
echo "eddy, 1 worker:           $(target/py-test/bin/python bench/python_tutorial.py "$EVENTS" "$USERS")"
echo "eddy, 2 workers:          $(target/py-test/bin/python bench/python_tutorial.py "$EVENTS" "$USERS" 2)"
