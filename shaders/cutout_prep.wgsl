// Cut-out preparation for blur fusion: from the plate (premultiplied; I is its colour
// un-premultiplied) and the matte's alpha a (channel `channel`, clamped to 0..1), writes
// fg_sum = (I * a, a) and bg_sum = (I * (1 - a), 1 - a) (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    channel: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var plate_tex: texture_2d<f32>;
@group(0) @binding(2) var matte_tex: texture_2d<f32>;
@group(0) @binding(3) var fg_tex: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var bg_tex: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(fg_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let a = clamp(load_clamped(matte_tex, p)[min(params.channel, 3u)], 0.0, 1.0);
    let i = unpremultiply(load_clamped(plate_tex, p));
    let b = 1.0 - a;
    textureStore(fg_tex, p, vec4<f32>(i.r * a, i.g * a, i.b * a, a));
    textureStore(bg_tex, p, vec4<f32>(i.r * b, i.g * b, i.b * b, b));
}
