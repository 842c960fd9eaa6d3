// Depth of field at a reduced size, pass 3: the full-size picture where the CoC is under half a
// pixel, the reduced gather enlarged with depth-aware bilinear weights where it is over 1.5 px,
// a mix between. Each of the four reduced samples around a pixel weighs its bilinear weight
// divided by (0.001 + its relative depth difference), so a blurred background never bleeds over
// a sharp edge. CPU twin: `dof_combine_cpu` in src/composite/ops/depth_fx.rs.
#include "common.wgsl"

struct Params {
    coc_scale: f32,
    focus_m: f32,
    max_blur_px: f32,
    factor: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var acc: texture_2d<f32>;
@group(0) @binding(2) var aux: texture_2d<f32>;
@group(0) @binding(3) var small: texture_2d<f32>;
@group(0) @binding(4) var small_aux: texture_2d<f32>;
@group(0) @binding(5) var out_tex: texture_storage_2d<rgba32float, write>;

fn coc_px(d: f32) -> f32 {
    let dd = max(d, 1e-4);
    return min(params.coc_scale * abs(dd - params.focus_m) / dd, params.max_blur_px);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let c = load_clamped(acc, p);
    let d = load_clamped(aux, p).r;
    let t = clamp(coc_px(d) - 0.5, 0.0, 1.0);
    if (t <= 0.0) {
        textureStore(out_tex, p, c);
        return;
    }
    let q = (vec2<f32>(id.xy) + vec2<f32>(0.5, 0.5)) / params.factor - vec2<f32>(0.5, 0.5);
    let fq = floor(q);
    let w = q - fq;
    let i = vec2<i32>(fq);
    var total = vec4<f32>(0.0);
    var plain = vec4<f32>(0.0);
    var weight = 0.0;
    let offsets = array<vec2<i32>, 4>(vec2<i32>(0, 0), vec2<i32>(1, 0), vec2<i32>(0, 1), vec2<i32>(1, 1));
    let wbs = array<f32, 4>((1.0 - w.x) * (1.0 - w.y), w.x * (1.0 - w.y), (1.0 - w.x) * w.y, w.x * w.y);
    for (var k = 0; k < 4; k++) {
        let s = load_clamped(small, i + offsets[k]);
        let ds = load_clamped(small_aux, i + offsets[k]).r;
        let rel = abs(ds - d) / max(d, 1e-4);
        let wk = wbs[k] / (1e-3 + rel);
        total += wk * s;
        plain += wbs[k] * s;
        weight += wk;
    }
    var blurred = plain;
    if (weight > 1e-6) {
        blurred = total / weight;
    }
    textureStore(out_tex, p, mix(c, blurred, t));
}
