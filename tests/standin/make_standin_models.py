"""Builds small ONNX graphs with the same signatures as models users bring, for manifest tests.

    python tests/standin/make_standin_models.py OUTDIR

- depth_anything_v2_vits.onnx: input `pixel_values` [1,3,height,width] -> `predicted_depth`
  [1,height,width], dynamic height and width (Depth Anything V2 Small's dynamic ONNX export
  signature; relative inverse depth);
- depth_anything_v2_fixed.onnx: the same at a fixed [1,3,518,518], to test that aspect = "keep"
  refuses a fixed-shape graph;
- midas_v21_small_256.onnx: input `0` [1,3,256,256] -> `797` [1,256,256] (MiDaS v2.1 small's
  `midas_v21_small_256.onnx` release export; relative inverse depth);
- bad_shape.onnx: a matte-like graph whose input is [1,3,100,100], to test that a manifest saying
  320x320 is refused (and, being of no known family, that `models add` writes a template);
- u2net_standin.onnx: `input.1` [1,3,320,320] -> seven outputs [1,1,320,320] (`1959` first), as
  rembg's U-2-Net exports;
- isnet_standin.onnx: `input` [1,3,1024,1024] -> six outputs [1,1,1024,1024], as rembg's IS-Net;
- birefnet_standin.onnx: `input_image` [1,3,1024,1024] -> `output_image` [1,1,1024,1024], as
  BiRefNet's exports.

Each graph's output is the mean over the input's channels (so a brighter pixel reads as nearer),
with ReLU so the values are non-negative like a real disparity.
"""
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper


def mean_graph(name: str, input_name: str, output_name: str, size, keep_channel: bool) -> onnx.ModelProto:
    """`size` is a number, or None for dynamic height and width."""
    h, w = ("height", "width") if size is None else (size, size)
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, h, w])
    out_shape = [1, 1, h, w] if keep_channel else [1, h, w]
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    mean = helper.make_node("ReduceMean", [input_name, "axes"], ["mean"], keepdims=1 if keep_channel else 0)
    relu = helper.make_node("Relu", ["mean"], [output_name])
    graph = helper.make_graph([mean, relu], name, [inp], [out], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="mattebox-tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def maps_graph(name: str, input_name: str, output_names, size: int) -> onnx.ModelProto:
    """A matte-like graph: every output is the channel mean, [1,1,size,size]."""
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, size, size])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, size, size]) for n in output_names]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("ReduceMean", [input_name, "axes"], ["mean"], keepdims=1)]
    nodes += [helper.make_node("Identity", ["mean"], [n]) for n in output_names]
    graph = helper.make_graph(nodes, name, [inp], outs, initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="mattebox-tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(mean_graph("depth_anything_v2_small_standin", "pixel_values", "predicted_depth", None, False),
              out / "depth_anything_v2_vits.onnx")
    onnx.save(mean_graph("depth_anything_v2_fixed_standin", "pixel_values", "predicted_depth", 518, False),
              out / "depth_anything_v2_fixed.onnx")
    onnx.save(mean_graph("midas_v21_small_standin", "0", "797", 256, False), out / "midas_v21_small_256.onnx")
    onnx.save(mean_graph("bad_shape_standin", "input.1", "1959", 100, True), out / "bad_shape.onnx")
    onnx.save(maps_graph("u2net_standin", "input.1", [str(1959 + i) for i in range(7)], 320),
              out / "u2net_standin.onnx")
    onnx.save(maps_graph("isnet_standin", "input", [f"output{i}" for i in range(6)], 1024),
              out / "isnet_standin.onnx")
    onnx.save(maps_graph("birefnet_standin", "input_image", ["output_image"], 1024),
              out / "birefnet_standin.onnx")


if __name__ == "__main__":
    main()
