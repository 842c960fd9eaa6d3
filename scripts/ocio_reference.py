#!/usr/bin/env python3
"""OpenColorIO's results for Mattebox's colour tests (tests/colour_ocio.rs).

Reads one JSON request on standard input:

    {"config": "ocio://studio-config-latest",
     "conversions": [["sRGB Encoded Rec.709 (sRGB)", "ACEScg"], ...],
     "patches": [[r, g, b], ...]}

and prints one JSON object: {"ocio_version": "2.6.0", "config": "<its name>", "results": [...]},
where results[i][j] is conversion i applied to patch j by OpenColorIO's CPU processor, in
32-bit float. The processor is built with lossless optimisation: OpenColorIO's default
optimisation replaces pow, log and exp by fast approximations (about 2e-5 relative error),
which would be measured as Mattebox's error.

Exits with status 3 and a message on standard error when PyOpenColorIO is not installed
(scripts/setup.sh installs it into .venv from scripts/requirements.txt).
"""

import json
import sys

try:
    import PyOpenColorIO as ocio
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"PyOpenColorIO is not installed: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    request = json.load(sys.stdin)
    config = ocio.Config.CreateFromFile(request["config"])
    flat = [float(c) for patch in request["patches"] for c in patch]
    results = []
    for src, dst in request["conversions"]:
        processor = config.getProcessor(src, dst)
        cpu = processor.getOptimizedCPUProcessor(ocio.OPTIMIZATION_LOSSLESS)
        out = cpu.applyRGB(list(flat))
        results.append([out[i : i + 3] for i in range(0, len(out), 3)])
    json.dump(
        {
            "ocio_version": ocio.__version__,
            "config": config.getName(),
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
