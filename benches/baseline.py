"""The Python baseline for `cargo bench --bench process`: the same work as `mattebox process`
(fastdepth depth + u2netp matte, one multi-layer EXR per frame), done the way a typical Python
script does it: Pillow decodes and resizes, NumPy normalises, ONNX Runtime runs the models
(U-2-Net exactly as rembg runs it), OpenImageIO writes the EXR (R G B A half, Z float,
matte.fg.A half, ZIP). Frames are processed one after another, as rembg does.

    python benches/baseline.py --frames DIR --models models --out OUT

Prints one JSON line: {"frames": N, "total_s": .., "per_frame_s": .., "inference_s": ..}.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import OpenImageIO as oiio
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", required=True, type=Path)
    ap.add_argument("--models", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    so = ort.SessionOptions()
    so.log_severity_level = 3
    cpu = ["CPUExecutionProvider"]
    u2 = ort.InferenceSession(str(args.models / "u2netp.onnx"), so, providers=cpu)
    fd = ort.InferenceSession(str(args.models / "fastdepth.onnx"), so, providers=cpu)

    frames = sorted(p for p in args.frames.iterdir() if p.suffix.lower() == ".png")
    inference = 0.0
    start = time.perf_counter()
    for path in frames:
        img = Image.open(path).convert("RGB")
        w, h = img.size

        # Matte, as rembg runs U-2-Net.
        small = np.asarray(img.resize((320, 320), Image.LANCZOS), np.float32)
        small = small / max(float(small.max()), 1e-6)
        x = ((small - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
        t = time.perf_counter()
        pred = u2.run(None, {"input.1": x})[0][0, 0]
        inference += time.perf_counter() - t
        pred = (pred - pred.min()) / max(float(pred.max() - pred.min()), 1e-6)
        matte = Image.fromarray((pred * 255).clip(0, 255).astype(np.uint8), "L").resize((w, h), Image.LANCZOS)
        matte = np.asarray(matte, np.float32) / 255.0

        # Depth.
        small = np.asarray(img.resize((224, 224), Image.BILINEAR), np.float32) / 255.0
        t = time.perf_counter()
        depth = fd.run(None, {"0": small.transpose(2, 0, 1)[None].astype(np.float32)})[0][0, 0]
        inference += time.perf_counter() - t
        depth = np.asarray(Image.fromarray(depth, "F").resize((w, h), Image.BILINEAR), np.float32)

        # Plate to linear, then one EXR: R G B A half, Z float, matte.fg.A half.
        rgb = srgb_to_linear(np.asarray(img, np.float32) / 255.0)
        pixels = np.empty((h, w, 6), np.float32)
        pixels[..., :3] = rgb
        pixels[..., 3] = 1.0
        pixels[..., 4] = depth
        pixels[..., 5] = matte
        spec = oiio.ImageSpec(w, h, 6, oiio.FLOAT)
        spec.channelnames = ("R", "G", "B", "A", "Z", "matte.fg.A")
        spec.channelformats = (oiio.HALF, oiio.HALF, oiio.HALF, oiio.HALF, oiio.FLOAT, oiio.HALF)
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(str(args.out / (path.stem + ".exr")))
        if out is None or not out.open(str(args.out / (path.stem + ".exr")), spec):
            raise SystemExit(f"cannot write {path.stem}.exr: {oiio.geterror()}")
        out.write_image(pixels)
        out.close()

    total = time.perf_counter() - start
    n = len(frames)
    print(json.dumps({"frames": n, "total_s": total, "per_frame_s": total / max(n, 1), "inference_s": inference}))


if __name__ == "__main__":
    main()
