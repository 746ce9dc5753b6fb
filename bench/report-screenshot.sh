#!/usr/bin/env bash
# Opens a `search-ctr report` page in headless Chromium and takes a
# screenshot: proof that a real browser renders it, offline.
#
#   bench/report-screenshot.sh REPORT.html OUT.png [WIDTH,HEIGHT]
#
# Fails (exit 1) when Chromium logs a console error or an uncaught
# exception, or when the page's script did not run (in a page with tables,
# their headers get a "Sort by this column" title); exit 2 when no Chromium is on PATH
# (`apt-get install chromium` on Debian). Network access is turned off.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1100,2400}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "$0: no chromium on PATH" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --user-data-dir="$tmp/profile" --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>'
  --enable-logging=stderr --v=0)
"$browser" "${flags[@]}" --window-size="$size" --screenshot="$out" "file://$report" \
  >"$tmp/shot.out" 2>"$tmp/shot.err"
"$browser" "${flags[@]}" --dump-dom "file://$report" >"$tmp/dom.html" 2>"$tmp/dom.err"
if grep -hE 'CONSOLE|Uncaught|ERR_' "$tmp/shot.err" "$tmp/dom.err" | grep -viE 'dbus|gpu|sandbox' >"$tmp/errors"; then
  echo "$0: the browser reported errors:" >&2
  cat "$tmp/errors" >&2
  exit 1
fi
if grep -q 'class="sortable"' "$report" && ! grep -q 'title="Sort by this column"' "$tmp/dom.html"; then
  echo "$0: the page's script did not run (no sortable headers in the DOM)" >&2
  exit 1
fi
if [ ! -s "$out" ]; then
  echo "$0: no screenshot written" >&2
  cat "$tmp/shot.err" >&2
  exit 1
fi
echo "$out"
