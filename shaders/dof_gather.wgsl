// Depth of field, pass 2: scatter-as-gather over a disc, with depth-aware weights.
// A sample counts when its own CoC reaches the centre; a sample farther than the centre has its
// CoC limited to the centre's (nothing behind a sharp pixel spreads over it); each sample weighs
// 1 / coc^2 (energy spread over its disc, uniformly: flat bokeh). The centre cell is gathered at
// full resolution; the rest from the prefilter's box sums on a lattice of spacing 2*half+1, whose
// boxes tile the plane, so a highlight fills its disc without gaps.
// CPU twin: `dof_gather_cpu` in src/composite/ops/depth_fx.rs.
#include "common.wgsl"

struct Params {
    max_blur_px: f32,
    // The lattice spacing is 2 * half + 1 pixels.
    half: i32,
    // Lattice cells visited on each side of the centre.
    cells: i32,
    _pad: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var acc: texture_2d<f32>;
@group(0) @binding(2) var sum_tex: texture_2d<f32>;
@group(0) @binding(3) var meta_tex: texture_2d<f32>;
@group(0) @binding(4) var out_tex: texture_storage_2d<rgba32float, write>;

// Smallest CoC radius (pixels) used for a sample's area and reach: a sharp pixel covers itself.
const MIN_COC_PX: f32 = 0.5;

fn reach_coc(coc: f32, d: f32, coc_c: f32, d_c: f32) -> f32 {
    var e = coc;
    if d > d_c {
        e = min(coc, coc_c);
    }
    return max(e, MIN_COC_PX);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let dims = textureDimensions(out_tex);
    if id.x >= dims.x || id.y >= dims.y {
        return;
    }
    let p = vec2<i32>(id.xy);
    let stride = 2 * params.half + 1;
    let spacing = f32(stride);
    let reach = params.max_blur_px + 0.5 * spacing;
    let reach2 = reach * reach;
    // The clamp of load_clamped, with the size read once (it is the same for every tap).
    let last = vec2<i32>(dims) - vec2<i32>(1, 1);
    let mc = textureLoad(meta_tex, p, 0);
    let coc_c = mc.y;
    let d_c = mc.w;
    var total = vec4<f32>(0.0);
    var weight = 0.0;
    // The centre cell, at full resolution (the centre pixel always counts fully).
    for (var dy = -params.half; dy <= params.half; dy++) {
        for (var dx = -params.half; dx <= params.half; dx++) {
            let q = clamp(p + vec2<i32>(dx, dy), vec2<i32>(0, 0), last);
            let m = textureLoad(meta_tex, q, 0);
            let e = reach_coc(m.y, m.w, coc_c, d_c);
            let r = sqrt(f32(dx * dx + dy * dy));
            let w = clamp(e - r + 0.5, 0.0, 1.0) / (e * e);
            total += w * textureLoad(acc, q, 0);
            weight += w;
        }
    }
    // The other cells, from the prefiltered box sums.
    for (var j = -params.cells; j <= params.cells; j++) {
        for (var i = -params.cells; i <= params.cells; i++) {
            let r2 = f32(i * i + j * j) * spacing * spacing;
            if (i == 0 && j == 0) || r2 >= reach2 {
                continue;
            }
            let q = clamp(p + vec2<i32>(i * stride, j * stride), vec2<i32>(0, 0), last);
            let m = textureLoad(meta_tex, q, 0);
            let e = reach_coc(m.y, m.w, coc_c, d_c);
            let r = sqrt(r2);
            let cover = clamp((e - r) / spacing + 0.5, 0.0, 1.0);
            if cover <= 0.0 {
                continue;
            }
            let w = cover / (e * e);
            total += w * textureLoad(sum_tex, q, 0);
            weight += w * m.x;
        }
    }
    textureStore(out_tex, p, total * (1.0 / weight));
}
