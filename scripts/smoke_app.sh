#!/usr/bin/env bash
# Smoke test of the real desktop app: starts `mattebox assets/sample_shot.mattebox.json` on its
# own Xvfb display (no window manager), waits for the window, checks that it shows the plate
# (not a blank window), presses Right and End as a user would and checks the frame in the
# window title follows (`Mattebox — <project> — frame <label>`). Cleans up every process it
# started; exits non-zero with a message on any failure. Needs xvfb, xdotool and imagemagick
# (scripts/setup.sh installs them). Then it opens a 12-frame shot with its passes running and
# checks that ten Right presses 100 ms apart all land (the title reaches frame 1011).
#
#   bash scripts/smoke_app.sh            # builds target/debug/mattebox if needed
#   MATTEBOX_BIN=target/release/mattebox bash scripts/smoke_app.sh
#   MATTEBOX_SMOKE_SHOTS=out/smoke bash scripts/smoke_app.sh   # keeps the screenshots
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

keep_shot() {
    if [ -n "${MATTEBOX_SMOKE_SHOTS:-}" ] && [ -s "$TMP/screen.png" ]; then
        mkdir -p "$MATTEBOX_SMOKE_SHOTS"
        cp "$TMP/screen.png" "$MATTEBOX_SMOKE_SHOTS/$1.png"
    fi
}

fail() {
    echo "smoke_app.sh: FAIL: $*" >&2
    keep_shot failure
    if [ -n "${TMP:-}" ] && [ -s "$TMP/app.log" ]; then
        echo "--- the app's output (last 40 lines) ---" >&2
        tail -n 40 "$TMP/app.log" >&2
    fi
    exit 1
}

for tool in Xvfb xdotool import identify; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run 'bash scripts/setup.sh'"
done

if [ -n "${MATTEBOX_BIN:-}" ]; then
    BIN="$MATTEBOX_BIN"
else
    BIN=target/debug/mattebox
    # A no-op when the binary is current; a stale binary would test old code.
    cargo build --quiet --bin mattebox || fail "cargo build failed"
fi
[ -x "$BIN" ] || fail "$BIN is not an executable"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-smoke.XXXXXX")"
XVFB_PID=""
APP_PID=""
cleanup() {
    # Only the processes this script started, by their ids.
    if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
        kill "$APP_PID" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$APP_PID" 2>/dev/null || true
    fi
    if [ -n "$XVFB_PID" ] && kill -0 "$XVFB_PID" 2>/dev/null; then
        kill "$XVFB_PID" 2>/dev/null || true
        wait "$XVFB_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Its own display: Xvfb picks a free number and writes it to fd 3 once it accepts clients.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$TMP/display" 2>"$TMP/xvfb.log" &
XVFB_PID=$!
for _ in $(seq 100); do
    [ -s "$TMP/display" ] && break
    kill -0 "$XVFB_PID" 2>/dev/null || fail "Xvfb exited: $(tail -n 5 "$TMP/xvfb.log")"
    sleep 0.1
done
[ -s "$TMP/display" ] || fail "Xvfb did not start within 10 s"
DISPLAY=":$(tr -d '[:space:]' <"$TMP/display")"
export DISPLAY
unset WAYLAND_DISPLAY

# The app's own files go to the temp folder; no passes run by themselves (this checks the
# window and the keyboard, not the models).
export MATTEBOX_WORK_DIR="$TMP/work" MATTEBOX_CONFIG_DIR="$TMP/config" \
    MATTEBOX_CACHE_DIR="$TMP/cache" MATTEBOX_NO_AUTO_PASSES=1
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$TMP/xdg"
    mkdir -m 0700 "$XDG_RUNTIME_DIR"
fi

"$BIN" assets/sample_shot.mattebox.json >"$TMP/app.log" 2>&1 &
APP_PID=$!

title() { xdotool getwindowname "$WID" 2>/dev/null || true; }
# Polls the window title for `frame <label>` for up to $2 seconds.
wait_for_frame() {
    local want="frame $1" tries=$(($2 * 10))
    for _ in $(seq "$tries"); do
        case "$(title)" in *"$want") return 0 ;; esac
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited while waiting for '$want'"
        sleep 0.1
    done
    fail "the window title is '$(title)', expected it to end with '$want'"
}
press() {
    xdotool keydown "$1"
    sleep 0.05
    xdotool keyup "$1"
}

WID="$(timeout 30 xdotool search --sync --name '^Mattebox' 2>/dev/null | head -n 1)" || true
[ -n "$WID" ] || fail "no Mattebox window appeared within 30 s"
echo "smoke_app.sh: window $WID on $DISPLAY"
wait_for_frame 1001 20
timeout 5 xdotool windowfocus --sync "$WID" || fail "could not focus the window"

# Not blank: the viewer shows the photo (thousands of colours), not just the panels. The first
# composite on a software adapter takes a moment, so poll.
colours=0
for _ in $(seq 40); do
    import -window root "$TMP/screen.png" 2>/dev/null || fail "import could not capture the screen"
    colours="$(identify -format '%k' "$TMP/screen.png")"
    deviation="$(identify -format '%[fx:standard_deviation]' "$TMP/screen.png")"
    if [ "$colours" -gt 5000 ]; then break; fi
    sleep 0.5
done
keep_shot window
echo "smoke_app.sh: screenshot has $colours colours, standard deviation $deviation"
[ "$colours" -gt 5000 ] || fail "the window looks blank ($colours colours): the viewer drew no plate"
awk -v d="$deviation" 'BEGIN { exit !(d > 0.05) }' || fail "the window is nearly uniform (deviation $deviation)"

press Right
wait_for_frame 1002 10
press End
wait_for_frame 1006 10
press Home
wait_for_frame 1001 10
import -window root "$TMP/screen.png" 2>/dev/null && keep_shot after_keys

kill -0 "$APP_PID" 2>/dev/null || fail "the app exited"
if grep -q "panicked" "$TMP/app.log"; then
    fail "the app panicked"
fi
kill "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true

# No key press is lost, even while the passes and the composites run: a 12-frame shot (the
# sample's six photos twice, frames 1001-1012), opened with its passes running by themselves;
# ten Right presses 100 ms apart must take the title to frame 1011.
mkdir -p "$TMP/long"
for i in $(seq 0 11); do
    cp "assets/sample_shot/astronaut.$((1001 + i % 6)).png" "$TMP/long/astronaut.$((1001 + i)).png"
done
env -u MATTEBOX_NO_AUTO_PASSES "$BIN" "$TMP/long" >"$TMP/app.log" 2>&1 &
APP_PID=$!
WID=""
for _ in $(seq 300); do
    WID="$(xdotool search --name '^Mattebox' 2>/dev/null | head -n 1)" || true
    case "$(title)" in *"frame 1001") break ;; esac
    kill -0 "$APP_PID" 2>/dev/null || fail "the app exited before showing the 12-frame shot"
    sleep 0.1
done
wait_for_frame 1001 20
timeout 5 xdotool windowfocus --sync "$WID" || fail "could not focus the window"
sleep 1
timeout 5 xdotool windowfocus --sync "$WID" || fail "could not focus the window"
for _ in $(seq 10); do
    press Right
    sleep 0.05
    [ -n "${MATTEBOX_SMOKE_DEBUG:-}" ] && echo "smoke_app.sh: after a Right press: $(title)"
done
wait_for_frame 1011 10
import -window root "$TMP/screen.png" 2>/dev/null && keep_shot ten_rights
if grep -q "panicked" "$TMP/app.log"; then
    fail "the app panicked"
fi
echo "smoke_app.sh: ok (window shown, Right/End/Home moved the frame, ten Right presses 100 ms apart all landed on a 12-frame shot) in ${SECONDS}s"
