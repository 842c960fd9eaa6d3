// Depth of field, pass 1: the CoC prepass and the prefilter the gather's lattice taps read.
// For each pixel: `sum` = the box sum over its (2*half+1)^2 neighbourhood of premultiplied RGBA,
// each neighbour weighted by how similar its signed CoC is (so a sharp foreground is never mixed
// into a blurred background's box); `meta` = (count, coc_px, signed_coc_px, distance_m), where
// count is the sum of those weights. CPU twin: `dof_prefilter_cpu` in
// src/composite/ops/depth_fx.rs.
#include "common.wgsl"

struct Params {
    // CoC radius in pixels = coc_scale * |d - focus| / d, before the clamp.
    coc_scale: f32,
    focus_m: f32,
    max_blur_px: f32,
    // The box is (2 * half + 1) pixels square: the gather's lattice spacing.
    half: i32,
    // At a reduced size, the blur the reduction adds (px², this size's pixels): each CoC radius
    // r becomes sqrt(max(r² − 4·shrink, 0)), so a disc's variance (r²/4) loses it again.
    shrink_px2: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var acc: texture_2d<f32>;
@group(0) @binding(2) var aux: texture_2d<f32>;
@group(0) @binding(3) var sum_tex: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var meta_tex: texture_storage_2d<rgba32float, write>;

// Signed CoC radius in pixels: negative nearer than focus.
fn signed_coc(d: f32) -> f32 {
    let dd = max(d, 1e-4);
    var r = min(params.coc_scale * abs(dd - params.focus_m) / dd, params.max_blur_px);
    if params.shrink_px2 > 0.0 {
        r = sqrt(max(r * r - 4.0 * params.shrink_px2, 0.0));
    }
    if dd < params.focus_m {
        return -r;
    }
    return r;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let dims = textureDimensions(sum_tex);
    if id.x >= dims.x || id.y >= dims.y {
        return;
    }
    let p = vec2<i32>(id.xy);
    let spacing = f32(2 * params.half + 1);
    // The clamp of load_clamped, with the size read once (it is the same for every tap).
    let last = vec2<i32>(dims) - vec2<i32>(1, 1);
    let d = textureLoad(aux, p, 0).r;
    let sc = signed_coc(d);
    var total = vec4<f32>(0.0);
    var count = 0.0;
    for (var dy = -params.half; dy <= params.half; dy++) {
        for (var dx = -params.half; dx <= params.half; dx++) {
            let q = clamp(p + vec2<i32>(dx, dy), vec2<i32>(0, 0), last);
            let sj = signed_coc(textureLoad(aux, q, 0).r);
            let w = clamp(1.0 - abs(sj - sc) / spacing, 0.0, 1.0);
            total += w * textureLoad(acc, q, 0);
            count += w;
        }
    }
    textureStore(sum_tex, p, total);
    textureStore(meta_tex, p, vec4<f32>(count, abs(sc), sc, d));
}
