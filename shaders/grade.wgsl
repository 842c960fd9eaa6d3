// A colour grade inside a depth band with soft edges, on un-premultiplied colour.
// CPU twin: `grade_cpu` in src/composite/ops/depth_fx.rs (same formulas, same order).
#include "common.wgsl"

struct Params {
    // Per-channel gain (rgb); a unused.
    gain: vec4<f32>,
    near_m: f32,
    far_m: f32,
    softness_m: f32,
    // 2^stops, computed on the CPU so both backends use the same factor.
    exposure_gain: f32,
    contrast: f32,
    saturation: f32,
    _pad0: f32,
    _pad1: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var acc: texture_2d<f32>;
@group(0) @binding(2) var aux: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba32float, write>;

// The CPU's smoothstep formula, spelled out so both backends round alike.
fn smooth_edge(e0: f32, e1: f32, x: f32) -> f32 {
    let t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

fn band_weight(d: f32) -> f32 {
    if params.softness_m <= 0.0 {
        // smoothstep with equal edges would divide by zero: hard edges instead.
        if d >= params.near_m && d <= params.far_m {
            return 1.0;
        }
        return 0.0;
    }
    return smooth_edge(params.near_m - params.softness_m, params.near_m, d)
        * (1.0 - smooth_edge(params.far_m, params.far_m + params.softness_m, d));
}

fn contrast_1(c: f32, contrast: f32) -> f32 {
    if c > 0.0 {
        return 0.18 * pow(c / 0.18, contrast);
    }
    return c;
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
    let w = band_weight(d);
    // Outside the band the picture passes through untouched (and the pixel costs nothing).
    if w <= 0.0 {
        textureStore(out_tex, p, c);
        return;
    }
    let a = c.a;
    // Un-premultiply (transparent pixels have no colour to grade).
    var inv = 0.0;
    if a > 0.0 {
        inv = 1.0 / a;
    }
    let s = c.rgb * inv;
    let e = vec3<f32>(
        contrast_1(s.r * params.exposure_gain, params.contrast),
        contrast_1(s.g * params.exposure_gain, params.contrast),
        contrast_1(s.b * params.exposure_gain, params.contrast),
    );
    let l = luminance(vec4<f32>(e, 1.0));
    let g = (vec3<f32>(l) + (e - vec3<f32>(l)) * params.saturation) * params.gain.rgb;
    let rgb = mix(s, g, vec3<f32>(w)) * a;
    textureStore(out_tex, p, vec4<f32>(rgb, a));
}
