#!/usr/bin/env bash
# The one check: formatting, lints (warnings are errors) and every test.
# This is README's test command and what CI runs (.ci/run), after
# scripts/setup.sh has fetched ONNX Runtime, the models and the test photos.
#
#   bash scripts/check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

# wgpu on lavapipe warns without a runtime dir; give it a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-xdg.XXXXXX")"
    chmod 0700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
    trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi

if [ ! -e vendor/onnxruntime/libonnxruntime.so ] || [ ! -x .venv/bin/python ]; then
    echo "check.sh: warning: run 'bash scripts/setup.sh' first; tests need vendor/ and .venv/" >&2
fi

set -x
cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
cargo test --all-features --no-fail-fast
# The real app on a virtual display: window, plate, keyboard (needs xvfb, xdotool, imagemagick).
bash scripts/smoke_app.sh
