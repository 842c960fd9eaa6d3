"""Depth fidelity on Middlebury's motorcycle: Spearman's rho between a depth map and the ground-truth
disparity, for the plain Python pipeline and for depth maps Mattebox made.

    python scripts/depth_fidelity.py --model models/fastdepth.onnx \
        --image vendor/skimage-data/motorcycle_left.png \
        --disparity vendor/skimage-data/motorcycle_disp.npz \
        [--depth NAME=FILE.f32:WxH ...]

The plain pipeline is FastDepth's reference: Pillow opens the 8-bit sRGB photo, resizes it to the
model's 224x224 with BILINEAR, divides by 255, and onnxruntime runs the model.

Every depth map (the reference's and each --depth, raw little-endian float32, row-major, larger is
farther) is scored the same way: resized to the ground truth's size with Pillow's bilinear filter on
float values, then ranked against the disparity (larger is nearer) over the pixels whose disparity
is known (finite). Ties get their average rank. Prints one JSON object: {"reference": rho,
"NAME": rho, ...}, rho positive when the order of depth agrees with the truth.
"""
import argparse
import json

import numpy as np
import onnxruntime as ort
from PIL import Image


def ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (as scipy.stats.rankdata's default)."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x), dtype=np.float64)
    r[order] = np.arange(len(x), dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=r)
    return (sums / counts)[inverse]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(a), ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum()))


def score(depth: np.ndarray, disparity: np.ndarray) -> float:
    h, w = disparity.shape
    up = np.asarray(Image.fromarray(depth.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
    known = np.isfinite(disparity)
    # Depth larger = farther, disparity larger = nearer: rank depth against -disparity.
    return spearman(up[known].astype(np.float64), -disparity[known].astype(np.float64))


def reference_depth(model: str, image: str) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    _, _, h, w = inp.shape
    picture = Image.open(image).convert("RGB").resize((w, h), Image.BILINEAR)
    x = (np.asarray(picture, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None]
    out = session.run(None, {inp.name: x})[0]
    return np.squeeze(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--disparity", required=True)
    p.add_argument("--depth", action="append", default=[], metavar="NAME=FILE.f32:WxH")
    args = p.parse_args()
    disparity = np.load(args.disparity)["arr_0"]
    result = {"reference": score(reference_depth(args.model, args.image), disparity)}
    for item in args.depth:
        name, rest = item.split("=", 1)
        path, size = rest.rsplit(":", 1)
        w, h = (int(v) for v in size.split("x"))
        depth = np.fromfile(path, dtype="<f4").reshape(h, w)
        result[name] = score(depth, disparity)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
