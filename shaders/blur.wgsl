// Blur: one axis of a separable Gaussian over all four channels. sigma = radius_px / 2; `taps`
// taps on each side, `step` pixels apart, with the normalised weights computed once per plan
// (`BlurParams::sparse`); 0 taps copies (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    radius_px: f32,
    axis: u32,
    step: u32,
    taps: u32,
    weights: array<vec4<f32>, 12>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var src_tex: texture_2d<f32>;
@group(0) @binding(2) var out_tex: texture_storage_2d<rgba32float, write>;

fn weight(i: i32) -> f32 {
    let a = u32(abs(i));
    return params.weights[a / 4u][a % 4u];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let step = i32(max(params.step, 1u));
    let n = i32(params.taps);
    if (n <= 0) {
        textureStore(out_tex, p, load_clamped(src_tex, p));
        return;
    }
    let dir = axis_dir(params.axis);
    var sum = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    for (var i = -n; i <= n; i = i + 1) {
        sum = sum + weight(i) * load_clamped(src_tex, p + dir * (i * step));
    }
    textureStore(out_tex, p, sum);
}
