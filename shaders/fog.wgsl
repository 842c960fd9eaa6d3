// Depth fog: the stack fades towards a colour with distance.
// CPU twin: `fog_cpu` in src/composite/ops/depth_fx.rs (same formulas, same order).
#include "common.wgsl"

struct Params {
    // rgb: linear fog colour; a: density at far_m.
    colour_density: vec4<f32>,
    near_m: f32,
    far_m: f32,
    // 0 linear, 1 smooth, 2 exponential.
    falloff: u32,
    // 1 / (1 - exp(-4)), so the exponential ramp reaches 1 at far_m.
    exp_norm: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var acc: texture_2d<f32>;
@group(0) @binding(2) var aux: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba32float, write>;

fn fog_amount(d: f32) -> f32 {
    // Guarded so a degenerate range is a hard step rather than a NaN.
    let span = max(params.far_m - params.near_m, 1e-6);
    let t = clamp((d - params.near_m) / span, 0.0, 1.0);
    var shape: f32;
    if params.falloff == 0u {
        shape = t;
    } else if params.falloff == 1u {
        shape = t * t * (3.0 - 2.0 * t);
    } else {
        shape = (1.0 - exp(-4.0 * t)) * params.exp_norm;
    }
    return params.colour_density.a * shape;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let dims = textureDimensions(out_tex);
    if id.x >= dims.x || id.y >= dims.y {
        return;
    }
    let p = vec2<i32>(id.xy);
    let c = load_clamped(acc, p);
    let d = load_clamped(aux, p).r;
    let f = fog_amount(d);
    let k = params.colour_density.rgb;
    let rgb = c.rgb * (1.0 - f) + k * f * c.a;
    textureStore(out_tex, p, vec4<f32>(rgb, c.a));
}
