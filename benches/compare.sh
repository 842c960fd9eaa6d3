#!/usr/bin/env bash
# Issue 8's speed figures, measured against a baseline built in the same run: the compositor as
# it was at BASE (a git ref; default the last commit before the interactive-compositing work)
# is built in a git worktree beside this one (sharing target/, so only Mattebox itself is
# compiled twice), and both are measured on this machine, one after the other:
#
# 1. the composite benchmark (benches/composite.rs): the template's five layers over a real
#    photo with its real passes, at 1920x1080 and at the app's 960x540 software preview, on the
#    CPU reference and on the software GPU (llvmpipe);
# 2. `mattebox render` of a 1920x1080 shot (frames scaled from the sample shot's real photos)
#    with the template stack and its camera move, on llvmpipe and on the CPU: the "rendering"
#    seconds of its summary (decode, passes read, camera layers, composite, readback), per frame.
#
# Prints every figure and the ratios new/baseline. Not a test: it takes several minutes.
#
#   bash benches/compare.sh [BASE]        # MATTEBOX_BENCH_SECONDS=S per measurement (default 3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
BASE="${1:-68de496}"
WT="${TMPDIR:-/tmp}/mattebox-baseline-$BASE"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export MATTEBOX_BENCH_4K=0
export MATTEBOX_BENCH_SECONDS="${MATTEBOX_BENCH_SECONDS:-3}"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-xdg.XXXXXX")"
    chmod 0700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

if [ ! -d "$WT" ]; then
    git worktree add --detach "$WT" "$BASE" >/dev/null
fi
# The baseline reads the same untracked inputs (ONNX Runtime, models, photos).
for p in vendor .venv; do [ -e "$WT/$p" ] || ln -s "$REPO/$p" "$WT/$p"; done
for m in "$REPO"/models/*.onnx; do [ -e "$WT/models/$(basename "$m")" ] || ln -s "$m" "$WT/models/"; done

bench_artifact() { # the composite bench executable built from the tree at $1
    (cd "$1" && cargo bench --bench composite --no-run --message-format=json 2>/dev/null) |
        "$REPO/.venv/bin/python" -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="composite" and m.get("executable"): print(m["executable"])' | tail -1
}
# Both trees share target/, where the two builds of Mattebox land on the same file names (cargo
# leaves the path out of their hashes, and its dep-info paths are relative to the tree), so a
# tree's build can look fresh after the other's: each tree's sources, shaders and build script
# are touched first, then its binary and benchmark are built and copied away at once.
BINS="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-bins.XXXXXX")"
build_copy() { # tree name
    (cd "$1" && find src shaders benches build.rs -type f -exec touch {} + &&
        cargo build --release --quiet --bin mattebox)
    cp "$CARGO_TARGET_DIR/release/mattebox" "$BINS/mattebox-$2"
    cp "$(bench_artifact "$1")" "$BINS/composite-$2"
}
echo "== building the baseline ($BASE) and the current tree (release)"
build_copy "$WT" baseline
build_copy "$REPO" new
BASE_BIN="$BINS/mattebox-baseline"
NEW_BIN="$BINS/mattebox-new"
BASE_BENCH="$BINS/composite-baseline"
NEW_BENCH="$BINS/composite-new"
if cmp -s "$BASE_BIN" "$NEW_BIN" || cmp -s "$BASE_BENCH" "$NEW_BENCH"; then
    echo "compare.sh: the baseline and current builds are the same file" >&2
    exit 1
fi
for b in "$BASE_BIN" "$BASE_BENCH" "$NEW_BIN" "$NEW_BENCH"; do
    [ -x "$b" ] || { echo "compare.sh: a build failed" >&2; exit 1; }
done

OUT="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-compare.XXXXXX")"
trap 'rm -rf "$OUT" "$BINS"' EXIT

# ------------------------------------------------------------------ composite benchmark
for size in 1920x1080 960x540; do
    echo "== composite benchmark at $size"
    (cd "$WT" && MATTEBOX_BENCH_SIZES=$size "$BASE_BENCH") | tee "$OUT/base-$size.txt" | grep '^|' || true
    (cd "$REPO" && MATTEBOX_BENCH_SIZES=$size "$NEW_BENCH") | tee "$OUT/new-$size.txt" | grep '^|' || true
done

# ------------------------------------------------------------------ mattebox render at 1080p
SHOT="$OUT/shot"
mkdir -p "$SHOT"
N="${MATTEBOX_BENCH_FRAMES:-4}"
for i in $(seq 1 "$N"); do
    src="$REPO/assets/sample_shot/astronaut.$((1000 + (i - 1) % 6 + 1)).png"
    "$REPO/.venv/bin/python" -c 'import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((1920, 1080), Image.LANCZOS).save(sys.argv[2])' \
        "$src" "$SHOT/plate.$((1000 + i)).png"
done
render() { # bin renderer out -> rendering seconds per frame
    "$1" render "$SHOT" --out "$3" --renderer "$2" --what composite --format exr --force 2>&1 |
        tee "$3.log" | sed -n 's/.*rendering \([0-9.]*\) s.*/\1/p' | tail -1
}
# Passes once (both binaries read the same pass files afterwards), then the timed renders.
"$NEW_BIN" render "$SHOT" --out "$OUT/warm" --what composite \
    --renderer cpu --frames 1001-1001 >/dev/null 2>&1 || true
echo "== mattebox render, $N frames of 1920x1080, template stack with the camera move"
echo "| renderer | baseline s/frame | new s/frame | speed-up |"
echo "|---|---|---|---|"
for r in gpu cpu; do
    b="$(render "$BASE_BIN" "$r" "$OUT/base-$r")"
    n="$(render "$NEW_BIN" "$r" "$OUT/new-$r")"
    if [ -z "$b" ] || [ -z "$n" ]; then
        echo "render with --renderer $r failed; logs:" >&2
        tail -5 "$OUT/base-$r.log" "$OUT/new-$r.log" >&2
        continue
    fi
    "$REPO/.venv/bin/python" -c 'import sys
b, n, k = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"| {sys.argv[4]} | {b / k:.3f} | {n / k:.3f} | {b / max(n, 1e-9):.1f}x |")' "$b" "$n" "$N" "$r"
done
