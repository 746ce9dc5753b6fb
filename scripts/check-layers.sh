#!/usr/bin/env bash
# Checks the layers of crates/eddy (ARCHITECTURE.md, "Layers"): each module
# may name only the modules below it (by `crate::MODULE` anywhere in its
# code, comments excluded), and only the engine may name timely.
#
#   base, metrics, error   the timely-free core (records, keys and routing,
#                          wake-up times, the stop/abort signal, metrics)
#   recovery               the store and its codec
#   engine                 the only timely user
#   dataflow               the public API: Flow, Stream, every operator
#   window                 clocks, windowers, window operators
#   describe               the picture of a flow (Flow::describe, describe)
#   testing, tutorial,     may use everything
#   lib.rs
#
# Then no import circle between the modules of any folder, in every crate
# of the workspace (scripts/check_circles.py: `a` uses `b` and `b` uses `a`,
# directly or through others).
#
# Prints every offending line and exits 1 if there is any.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="${EDDY_SRC:-$ROOT/crates/eddy/src}"
cd "$SRC"

# module -> the crate modules it may name
declare -A ALLOWED=(
    [error]="error"
    [base]="base error"
    [metrics]="base error metrics"
    [recovery]="base error metrics connectors recovery"
    [engine]="base error metrics connectors recovery engine"
    [dataflow]="base error metrics connectors recovery engine dataflow"
    [window]="base error metrics connectors recovery engine dataflow window"
    [describe]="base error metrics connectors recovery engine dataflow describe"
)

# Code lines of a file, numbered: line comments, doc comments and the
# file's unit tests (`#[cfg(test)] mod tests { ... }`, to the closing brace
# at column 0) dropped.
code() {
    awk '/^#\[cfg\(test\)\]$/ { held = NR ": " $0; next }
         held != "" && /^mod tests/ { skip = 1; held = ""; next }
         held != "" { print held; held = "" }
         skip && /^}/ { skip = 0; next }
         !skip { print NR ": " $0 }' "$1" | sed -E 's/^([0-9]+): /\1:/' | grep -v -E '^[0-9]+:\s*//' || true
}

bad=0
for module in error base metrics recovery engine dataflow window describe; do
    if [ -d "$module" ]; then files=$(find "$module" -name '*.rs' | sort); elif [ -f "$module.rs" ]; then files="$module.rs"; else continue; fi
    for f in $files; do
        while IFS= read -r line; do
            for used in $(grep -o -E 'crate::[a-z_]+' <<<"$line" | sed 's/crate:://' | sort -u); do
                if [[ " ${ALLOWED[$module]} " != *" $used "* ]]; then
                    echo "$f:$line  ($module may not use $used)"
                    bad=1
                fi
            done
            if [ "$module" != engine ] && grep -q -E '(^|[^a-z_])timely::' <<<"$line"; then
                echo "$f:$line  (only the engine may use timely)"
                bad=1
            fi
        done < <(code "$f")
    done
done
# super:: from a module's top file would reach lib.rs; keep to crate:: paths.
python3 "$ROOT/scripts/check_circles.py" --self-test >/dev/null
if ! python3 "$ROOT/scripts/check_circles.py" "$ROOT/crates/eddy/src" "$ROOT/crates/io/src" \
    "$ROOT/crates/ctr/src" "$ROOT/crates/cli/src" "$ROOT/python/src"; then
    bad=1
fi
if [ "$bad" = 0 ]; then
    echo "layers ok: base/metrics <- recovery <- engine (only timely user) <- dataflow <- window; no import circle"
fi
exit "$bad"
