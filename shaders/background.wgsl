// Background: opaque premultiplied RGBA. Mode 0: the solid colour params.colour.rgb (the input
// is an unused dummy); mode 1: the input un-premultiplied, alpha 1 (an image already scaled to
// the frame, or the blurred plate) (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    colour: vec4<f32>,
    mode: u32,
    // The input is reduced by this factor (1: full size).
    factor: f32,
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
    let p = vec2<i32>(id.xy);
    if (params.mode == 0u) {
        textureStore(out_tex, p, vec4<f32>(params.colour.rgb, 1.0));
        return;
    }
    let c = unpremultiply(read_scaled(src_tex, p, params.factor));
    textureStore(out_tex, p, vec4<f32>(c, 1.0));
}
