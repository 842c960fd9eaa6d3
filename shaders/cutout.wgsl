// Cut-out: the plate through the matte, premultiplied. With decontamination, the foreground
// colour is Forte & Pitie's blur fusion estimate (ICIP 2021):
//   F_blur = blur(I a) / blur(a),  B_blur = blur(I (1 - a)) / blur(1 - a)  (I where ~0/0),
//   F = max(F_blur + a (I - a F_blur - (1 - a) B_blur), 0);
// without, F = I. Outputs (F * a', a') with a' = a * plate alpha, and the background estimate
// as a sum for the next round of blur fusion, (B_blur * (1 - a), 1 - a) (B_blur = I without
// decontamination) (CPU twin: ops/stack.rs).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    channel: u32,
    decontaminate: u32,
    // 0: the background estimate (second output) is not needed and not written.
    background_out: u32,
    // The blurred sums are reduced by this factor (1: full size).
    blur_factor: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var plate_tex: texture_2d<f32>;
@group(0) @binding(2) var matte_tex: texture_2d<f32>;
@group(0) @binding(3) var fg_blur_tex: texture_2d<f32>;
@group(0) @binding(4) var bg_blur_tex: texture_2d<f32>;
@group(0) @binding(5) var out_tex: texture_storage_2d<rgba32float, write>;
@group(0) @binding(6) var bg_out_tex: texture_storage_2d<rgba32float, write>;

// A blurred weighted sum's mean, or `fallback` where the blurred weight is ~0.
fn weighted_mean(sum: vec4<f32>, fallback: vec3<f32>) -> vec3<f32> {
    if (sum.a > WEIGHT_EPS) {
        return vec3<f32>(sum.r / sum.a, sum.g / sum.a, sum.b / sum.a);
    }
    return fallback;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let alpha = clamp(load_clamped(matte_tex, p)[min(params.channel, 3u)], 0.0, 1.0);
    let pc = load_clamped(plate_tex, p);
    let i = unpremultiply(pc);
    var f = i;
    var bb = i;
    if (params.decontaminate != 0u) {
        let fb = weighted_mean(read_scaled(fg_blur_tex, p, params.blur_factor), i);
        bb = weighted_mean(read_scaled(bg_blur_tex, p, params.blur_factor), i);
        f = max(fb + alpha * (i - alpha * fb - (1.0 - alpha) * bb), vec3<f32>(0.0, 0.0, 0.0));
    }
    let a = alpha * pc.a;
    textureStore(out_tex, p, vec4<f32>(f.r * a, f.g * a, f.b * a, a));
    if (params.background_out == 0u) {
        return;
    }
    let w = 1.0 - alpha;
    textureStore(bg_out_tex, p, vec4<f32>(bb.r * w, bb.g * w, bb.b * w, w));
}
