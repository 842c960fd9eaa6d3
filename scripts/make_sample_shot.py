#!/usr/bin/env python3
"""Makes assets/sample_shot/: a 6-frame slow push-in on scikit-image's astronaut photo.

The source is vendor/skimage-data/astronaut.png (fetched by scripts/setup.sh from the
scikit-image wheel; NASA photo of Eileen Collins, public domain). Each frame is a
slightly tighter 4:3 crop drifting toward the face, resampled with Lanczos to
512x384, saved as 8-bit RGB PNG named like a real plate sequence: astronaut.1001.png
... astronaut.1006.png.

    .venv/bin/python scripts/make_sample_shot.py
"""

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "vendor" / "skimage-data" / "astronaut.png"
OUT = ROOT / "assets" / "sample_shot"

FIRST_FRAME = 1001
FRAMES = 6
SIZE_PX = (512, 384)  # 4:3
ZOOM_PER_FRAME = 0.03  # each frame's crop is 3% of the first one's size smaller
START_CENTRE = (256.0, 192.0)  # frame 1001: the full width, upper 3/4 of the photo
END_CENTRE = (236.0, 178.0)  # drift toward the face


def main() -> None:
    src = Image.open(SRC).convert("RGB")
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(FRAMES):
        t = i / (FRAMES - 1)
        scale = 1.0 - ZOOM_PER_FRAME * i
        w, h = src.width * scale, src.width * scale * 3 / 4
        cx = START_CENTRE[0] + (END_CENTRE[0] - START_CENTRE[0]) * t
        cy = START_CENTRE[1] + (END_CENTRE[1] - START_CENTRE[1]) * t
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= src.width and box[3] <= src.height, box
        frame = src.resize(SIZE_PX, Image.Resampling.LANCZOS, box=box)
        path = OUT / f"astronaut.{FIRST_FRAME + i}.png"
        frame.save(path, optimize=True, compress_level=9)
        total += path.stat().st_size
        print(f"{path.relative_to(ROOT)}  box={tuple(round(v, 1) for v in box)}  {path.stat().st_size} bytes")
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
