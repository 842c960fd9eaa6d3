#!/usr/bin/env bash
# Smoke test of the real desktop app: starts `mattebox assets/sample_shot.mattebox.json` on its
# own Xvfb display (no window manager), waits for the window, checks that it shows the plate
# (not a blank window), presses Right and End as a user would and checks the frame in the
# window title follows (`Mattebox — <project> — frame <label>`). Cleans up every process it
# started; exits non-zero with a message on any failure. Needs xvfb, xdotool and imagemagick
# (scripts/setup.sh installs them). Then it opens a 12-frame shot with its passes running and
# checks that ten Right presses 100 ms apart all land (the title reaches frame 1011). Last, an
# edit made by a shortcut on a copy of the sample project survives `kill -9` through the
# autosave, and a relaunch recovers it. Then the app in Traditional Chinese for Hong Kong: under
# LANG=zh_HK.UTF-8 the window title and the menu bar are Chinese (the menu bar's pixels differ
# from the English run's), and the app's log says it chose zh-HK from LANG and that its fonts
# cover every character of the language's strings (no boxes), with the system's Noto Sans CJK
# HK face and again with only the bundled subset (MATTEBOX_CJK_FONT=bundled).
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
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$TMP/display" 2>"$TMP/xvfb.log" &
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
# window and the keyboard, not the models); English whatever this machine's locale, until the
# zh-HK part at the end.
export MATTEBOX_WORK_DIR="$TMP/work" MATTEBOX_CONFIG_DIR="$TMP/config" \
    MATTEBOX_CACHE_DIR="$TMP/cache" MATTEBOX_NO_AUTO_PASSES=1 MATTEBOX_LANG=en
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
# The menu bar (File Edit View Passes Help), to compare with the Chinese run's.
cp "$TMP/screen.png" "$TMP/screen_en.png"

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
# Starts the command given, waits for its window at frame 1001 and focuses it (twice: the first
# focus can come before the window takes keys).
launch() {
    "$@" >"$TMP/app.log" 2>&1 &
    APP_PID=$!
    WID=""
    for _ in $(seq 300); do
        WID="$(xdotool search --name '^Mattebox' 2>/dev/null | head -n 1)" || true
        case "$(title)" in *"frame 1001") break ;; esac
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited before showing frame 1001"
        sleep 0.1
    done
    wait_for_frame 1001 20
    timeout 5 xdotool windowfocus --sync "$WID" || fail "could not focus the window"
    sleep 1
    timeout 5 xdotool windowfocus --sync "$WID" || fail "could not focus the window"
}
launch env -u MATTEBOX_NO_AUTO_PASSES "$BIN" "$TMP/long"
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
kill "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true

# No work is lost to a crash: on a copy of the sample project, two Right presses and K add a
# camera key at frame 1003 (an edit by shortcut); once the debounced autosave has had its few
# seconds, the app is killed with kill -9. The autosave must hold the new key, and the project
# file must not. A relaunch on the project offers recovery; Enter takes it and Ctrl+S saves, and
# then the project file holds the key.
mkdir -p "$TMP/crash"
cp -r assets/sample_shot "$TMP/crash/"
cp assets/sample_shot.mattebox.json "$TMP/crash/"
PROJECT="$TMP/crash/sample_shot.mattebox.json"
AUTOSAVE="$PROJECT.autosave"
keys_at() { # FILE FRAME: how many camera keys FILE has at FRAME
    python3 -c 'import json, sys
keys = json.load(open(sys.argv[1]))["camera"]["keys"]
print(sum(1 for k in keys if k["frame"] == float(sys.argv[2])))' "$1" "$2"
}
launch "$BIN" "$PROJECT"
press Right
press Right
wait_for_frame 1003 10
press k
for _ in $(seq 30); do
    case "$(title)" in *"*"*) break ;; esac
    sleep 0.1
done
case "$(title)" in *"*"*) ;; *) fail "K made no edit (title '$(title)')" ;; esac
sleep 4.5
kill -9 "$APP_PID"
wait "$APP_PID" 2>/dev/null || true
APP_PID=""
[ -f "$AUTOSAVE" ] || fail "no autosave was written within 4.5 s of the edit"
[ "$(keys_at "$AUTOSAVE" 1003)" = 1 ] || fail "the autosave does not hold the key added at frame 1003"
[ "$(keys_at "$PROJECT" 1003)" = 0 ] || fail "the project file was written without a save"
ls "$TMP/crash" | grep -q '\.tmp' && fail "a temp file was left behind: $(ls "$TMP/crash")"
echo "smoke_app.sh: after kill -9 the autosave holds the new key"
launch "$BIN" "$PROJECT"
# The recovery dialog is up; Enter takes the autosave, the title shows it unsaved.
sleep 1
press Return
for _ in $(seq 50); do
    case "$(title)" in *"*"*) break ;; esac
    sleep 0.1
done
case "$(title)" in *"*"*) ;; *) fail "recovery did not restore the unsaved edit (title '$(title)')" ;; esac
import -window root "$TMP/screen.png" 2>/dev/null && keep_shot recovered
xdotool key --clearmodifiers ctrl+s
for _ in $(seq 50); do
    [ "$(keys_at "$PROJECT" 1003)" = 1 ] && break
    sleep 0.1
done
[ "$(keys_at "$PROJECT" 1003)" = 1 ] || fail "after recovery and Ctrl+S the project file lacks the key"
if grep -q "panicked" "$TMP/app.log"; then
    fail "the app panicked"
fi
kill "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true
APP_PID=""

# Traditional Chinese for Hong Kong, chosen by the locale (no choice saved in the settings).
# FONT is the CJK font to use: "" (the system's) or "bundled" (the app's subset).
launch_zh() {
    env -u LC_ALL -u LC_MESSAGES -u MATTEBOX_LANG LANG=zh_HK.UTF-8 MATTEBOX_CJK_FONT="$1" \
        "$BIN" assets/sample_shot.mattebox.json >"$TMP/app.log" 2>&1 &
    APP_PID=$!
    WID=""
    for _ in $(seq 300); do
        WID="$(xdotool search --name '^Mattebox' 2>/dev/null | head -n 1)" || true
        case "$(title)" in *"1001"*) break ;; esac
        kill -0 "$APP_PID" 2>/dev/null || fail "the app exited before showing its window (LANG=zh_HK.UTF-8)"
        sleep 0.1
    done
    # `… — 第 1001 幀`, not the English `… — frame 1001`.
    case "$(title)" in
        *"frame 1001") fail "under LANG=zh_HK.UTF-8 the window title is English: '$(title)'" ;;
        *"1001"*) echo "smoke_app.sh: zh-HK window title '$(title)'" ;;
        *) fail "under LANG=zh_HK.UTF-8 the window title is '$(title)', expected '… 第 1001 幀'" ;;
    esac
    # The language and the fonts' coverage of its strings, from the app's log.
    local line
    line="$(grep -m1 '^mattebox: language ' "$TMP/app.log" || true)"
    echo "smoke_app.sh: ${1:-system} font: $line"
    case "$line" in
        "mattebox: language zh-HK (from LANG=zh_HK.UTF-8); fonts cover all "*) ;;
        *) fail "the log's language line is '$line': expected zh-HK from LANG with every character covered" ;;
    esac
    grep -q "^mattebox: Chinese text in Noto Sans CJK HK" "$TMP/app.log" \
        || fail "no Noto Sans CJK HK face loaded: $(grep -m1 'Chinese text\|CJK' "$TMP/app.log")"
}
launch_zh ""
for _ in $(seq 40); do
    import -window root "$TMP/screen.png" 2>/dev/null || fail "import could not capture the screen"
    colours="$(identify -format '%k' "$TMP/screen.png")"
    if [ "$colours" -gt 5000 ]; then break; fi
    sleep 0.5
done
keep_shot zh_hk
# The menu bar's strip (File Edit View Passes Help: 360x22 at the top left), read cropped.
MENU='[360x22+0+0]'
differ="$(compare -metric AE "$TMP/screen_en.png$MENU" "$TMP/screen.png$MENU" null: 2>&1 || true)"
ink="$(identify -format '%k' "$TMP/screen.png$MENU")"
echo "smoke_app.sh: the zh-HK menu bar differs from the English one in $differ pixels ($ink colours)"
awk -v d="${differ%% *}" 'BEGIN { exit !(d + 0 > 300) }' \
    || fail "the menu bar under LANG=zh_HK.UTF-8 looks like the English one ($differ pixels differ)"
[ "$ink" -gt 8 ] || fail "the zh-HK menu bar is blank ($ink colours)"
rss_system="$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$APP_PID/status")"
grep -q "panicked" "$TMP/app.log" && fail "the app panicked"
kill "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true
APP_PID=""
launch_zh bundled
grep -q "^mattebox: Chinese text in .*NotoSansCJKhk-Regular-subset.otf, bundled)" "$TMP/app.log" \
    || fail "MATTEBOX_CJK_FONT=bundled did not load the bundled subset: $(grep -m1 'Chinese text' "$TMP/app.log")"
sleep 2
import -window root "$TMP/screen.png" 2>/dev/null && keep_shot zh_hk_bundled
rss_bundled="$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$APP_PID/status")"
grep -q "panicked" "$TMP/app.log" && fail "the app panicked"
echo "smoke_app.sh: zh-HK resident memory: ${rss_system} MB with the system font, ${rss_bundled} MB with the bundled subset"
echo "smoke_app.sh: ok (window shown, Right/End/Home moved the frame, ten Right presses 100 ms apart all landed on a 12-frame shot, an edit survived kill -9 and was recovered, LANG=zh_HK.UTF-8 gave a Chinese title and menu bar with every character in the fonts, system and bundled) in ${SECONDS}s"
