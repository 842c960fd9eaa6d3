// Downsample: each output pixel is the mean of a factor × factor block of the input, clamped
// at the edges; the output is ceil(size / factor) (CPU twin: ops/stack.rs).
#include "common.wgsl"

struct Params {
    factor: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src_tex: texture_2d<f32>;
@group(0) @binding(2) var out_tex: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let f = i32(max(params.factor, 1u));
    let o = vec2<i32>(id.xy) * f;
    var sum = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    for (var j = 0; j < f; j = j + 1) {
        for (var i = 0; i < f; i = i + 1) {
            sum = sum + load_clamped(src_tex, o + vec2<i32>(i, j));
        }
    }
    textureStore(out_tex, vec2<i32>(id.xy), sum * (1.0 / f32(f * f)));
}
