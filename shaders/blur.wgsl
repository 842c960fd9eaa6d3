// Blur: one axis of a separable Gaussian over all four channels. sigma = radius_px / 2; taps
// every `step` pixels out to ceil(radius_px / step) taps each side; weights normalised;
// radius 0 copies (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    radius_px: f32,
    axis: u32,
    step: u32,
    _pad0: u32,
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
    let step = i32(max(params.step, 1u));
    let n = i32(ceil(params.radius_px / f32(step)));
    if (n <= 0) {
        textureStore(out_tex, p, load_clamped(src_tex, p));
        return;
    }
    let sigma = params.radius_px * 0.5;
    let k = -0.5 / (sigma * sigma);
    let dir = axis_dir(params.axis);
    var sum = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var wsum = 0.0;
    for (var i = -n; i <= n; i = i + 1) {
        let o = i * step;
        let d = f32(o);
        let w = exp(d * d * k);
        let c = load_clamped(src_tex, p + dir * o);
        sum = sum + w * c;
        wsum = wsum + w;
    }
    textureStore(out_tex, p, vec4<f32>(sum.x / wsum, sum.y / wsum, sum.z / wsum, sum.w / wsum));
}
