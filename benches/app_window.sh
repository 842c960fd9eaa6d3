#!/usr/bin/env bash
# Issue 8's playback figure through the real window: the release binary under Xvfb on a shot of
# 24 frames of 1280x720 (the sample shot's photos scaled), its passes made by the app itself.
# Space plays; the window title's frame number is polled, and the time of each lap round the
# shot gives the frames/s actually shown: the first lap fills the RAM preview, later laps play
# from it (MATTEBOX_BENCH_LAPS of them, default 8). Not a test: prints the figures.
#
#   bash benches/app_window.sh            # MATTEBOX_BIN=... to use another binary
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="${MATTEBOX_BIN:-target/release/mattebox}"
[ -x "$BIN" ] || { echo "app_window.sh: build it first: cargo build --release" >&2; exit 1; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-appwin.XXXXXX")"
XVFB_PID=""
APP_PID=""
cleanup() {
    [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/shot"
.venv/bin/python - "$TMP/shot" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
srcs = [Image.open(f"assets/sample_shot/astronaut.{1001 + i}.png").convert("RGB") for i in range(6)]
for i in range(24):
    srcs[i % 6].resize((1280, 720), Image.LANCZOS).save(f"{out}/plate.{1001 + i}.png")
PY
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$TMP/display" 2>/dev/null &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$TMP/display" ] && break; sleep 0.1; done
export DISPLAY=":$(tr -d '[:space:]' <"$TMP/display")"
export MATTEBOX_WORK_DIR="$TMP/work" MATTEBOX_CONFIG_DIR="$TMP/config" MATTEBOX_CACHE_DIR="$TMP/cache"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$TMP/xdg"
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
fi
"$BIN" "$TMP/shot" >"$TMP/app.log" 2>&1 &
APP_PID=$!
WID=""
for _ in $(seq 300); do WID="$(xdotool search --name "^Mattebox" 2>/dev/null | head -n 1)" || true; [ -n "$WID" ] && break; sleep 0.2; done
title() { xdotool getwindowname "$WID" 2>/dev/null || true; }
# The passes (24 frames on the real models) run by themselves; their files appear in the work dir.
for _ in $(seq 600); do
    n="$( (find "$TMP/work" -name '*.exr' -path '*passes*' 2>/dev/null || true) | wc -l)"
    [ "$n" -ge 24 ] && [ -n "$(find "$TMP/work" -name mattebox.json 2>/dev/null || true)" ] && break
    sleep 0.5
done
echo "passes: $n pass files"
sleep 3
timeout 5 xdotool windowfocus --sync "$WID"
sleep 1
timeout 5 xdotool windowfocus --sync "$WID"
xdotool keydown space; sleep 0.05; xdotool keyup space
# Laps: from Space, then between two wraps of the title's frame number back to the start. The title is
# read every 25 ms, not faster: each read runs xdotool, and at 4 ms the reads took a seventh of
# the two cores from the app they measure. A wrap is a frame number lower than the last one read,
# so a frame shown for less than a read's interval cannot hide it; each lap's ends are then known
# to within about 25 ms, and the mean over the cached laps to within 50 ms in all.
LAPS="${MATTEBOX_BENCH_LAPS:-8}"
last=""
laps=()
start="$(date +%s.%N)" # playback starts at the shot's first frame
while [ "${#laps[@]}" -lt $((LAPS + 1)) ]; do
    t="$(title)"
    f="${t##*frame }"
    if [[ "$f" =~ ^[0-9]+$ ]]; then
        if [ -n "$last" ] && [ "$f" -lt "$last" ]; then
            now="$(date +%s.%N)"
            laps+=("$(python3 -c "print($now - $start)")")
            start="$now"
        fi
        last="$f"
    fi
    kill -0 "$APP_PID" 2>/dev/null || { echo "the app exited" >&2; tail -5 "$TMP/app.log" >&2; exit 1; }
    sleep 0.025
done
echo "| lap | seconds | frames/s (24 frames) |"
echo "|---|---|---|"
i=1
for l in "${laps[@]}"; do
    printf '| %d%s | %.2f | %.1f |\n' "$i" "$([ "$i" = 1 ] && echo ' (fills the RAM preview)')" "$l" "$(python3 -c "print(24 / $l)")"
    i=$((i + 1))
done
python3 -c 'import sys
t = [float(x) for x in sys.argv[1:]]
print(f"cached laps: {len(t)} laps of 24 frames in {sum(t):.2f} s: {24 * len(t) / sum(t):.1f} frames/s")' "${laps[@]:1}"
if grep -q panicked "$TMP/app.log"; then echo "the app panicked" >&2; exit 1; fi
