"""Makes the reference mattes in tests/fixtures/, once, with ONNX Runtime from Python.

u2netp is run exactly as rembg runs it: RGB PIL image, resized to 320x320 with LANCZOS, divided
by the resized image's maximum, ImageNet mean/std, NCHW float32 into `input.1`; the first output,
min-max normalised, resized back to the photo's size with LANCZOS, stored as 8-bit grey PNG.
The Rust tests compare Mattebox's matte with these by IoU at 0.5.

    .venv/bin/python scripts/make_fixtures.py
"""
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "vendor" / "skimage-data"
OUT = ROOT / "tests" / "fixtures"


def u2netp_matte(session: ort.InferenceSession, photo: Image.Image) -> Image.Image:
    small = photo.convert("RGB").resize((320, 320), Image.LANCZOS)
    x = np.asarray(small, dtype=np.float32)
    x = x / max(float(np.max(x)), 1e-6)
    x = (x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    x = x.transpose(2, 0, 1)[None].astype(np.float32)
    pred = session.run(None, {"input.1": x})[0][0, 0]
    pred = (pred - pred.min()) / max(float(pred.max() - pred.min()), 1e-6)
    matte = Image.fromarray((pred * 255).clip(0, 255).astype(np.uint8), mode="L")
    return matte.resize(photo.size, Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    session = ort.InferenceSession(str(ROOT / "models" / "u2netp.onnx"), providers=["CPUExecutionProvider"])
    for name in ["astronaut", "chelsea"]:
        photo = Image.open(PHOTOS / f"{name}.png")
        u2netp_matte(session, photo).save(OUT / f"{name}_u2netp_ref.png", optimize=True)


if __name__ == "__main__":
    main()
