// MinMax: one axis of a grayscale erosion (mode 0, min) or dilation (mode 1, max) of one
// channel over the taps -reach..=reach spaced `step` pixels apart; the other channels pass
// through (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    reach: u32,
    step: u32,
    channel: u32,
    axis: u32,
    mode: u32,
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
    let p = vec2<i32>(id.xy);
    let ch = min(params.channel, 3u);
    let reach = i32(params.reach);
    let step = i32(max(params.step, 1u));
    let dir = axis_dir(params.axis);
    var c = load_clamped(src_tex, p);
    var v = c[ch];
    for (var i = -reach; i <= reach; i = i + 1) {
        let o = i * step;
        let s = load_clamped(src_tex, p + dir * o)[ch];
        if (params.mode != 0u) {
            v = max(v, s);
        } else {
            v = min(v, s);
        }
    }
    c[ch] = v;
    textureStore(out_tex, p, c);
}
