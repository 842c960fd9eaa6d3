// The 2.5D camera move: every output pixel casts a ray from the new camera and marches it
// through the height field of the front layer; a ray that passes behind a front surface (a
// disocclusion) continues against the filled background layer instead.
// CPU twin: `ReprojectOp::run_cpu` in src/composite/ops/reproject.rs, formula for formula.
// Bindings: params, front plate, front aux, fill plate, fill aux, front bounds, fill bounds
// (`depth_bounds.wgsl`) -> plate, aux.
#include "common.wgsl"

struct Params {
    // The new camera's axes (columns of the pose's rotation) in source coordinates; w unused.
    rot_x: vec4<f32>,
    rot_y: vec4<f32>,
    rot_z: vec4<f32>,
    // The new camera's centre in source coordinates (metres); w unused.
    centre: vec4<f32>,
    // (cx, cy, source focal px, new focal px).
    lens: vec4<f32>,
    // (1 / nearest march depth, 1 / farthest march depth, thickness, edge ratio).
    march: vec4<f32>,
    steps: u32,
    refine_steps: u32,
    min_z: f32,
    // Source pixels per march step (0: always `steps` steps).
    step_px: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var front_plate: texture_2d<f32>;
@group(0) @binding(2) var front_aux: texture_2d<f32>;
@group(0) @binding(3) var fill_plate: texture_2d<f32>;
@group(0) @binding(4) var fill_aux: texture_2d<f32>;
@group(0) @binding(5) var front_bounds: texture_2d<f32>;
@group(0) @binding(6) var fill_bounds: texture_2d<f32>;
@group(0) @binding(7) var out_plate: texture_storage_2d<rgba32float, write>;
@group(0) @binding(8) var out_aux: texture_storage_2d<rgba32float, write>;

// The height of a point that cannot be under the surface (behind the source camera, or the
// state before the first step).
const IN_FRONT: f32 = -1.0e30;

// a·(1 − t) + b·t, written out so that the CPU twin is the same expression.
fn lerp1(a: f32, b: f32, t: f32) -> f32 {
    return a * (1.0 - t) + b * t;
}

// The ray's point at new-camera depth s: (u, v) in the source image (pixel units, clamped a
// little outside it) and its source-space z.
fn project(origin: vec3<f32>, dir: vec3<f32>, s: f32) -> vec3<f32> {
    let px = origin.x + dir.x * s;
    let py = origin.y + dir.y * s;
    let pz = origin.z + dir.z * s;
    let zs = max(pz, params.min_z);
    let u = clamp(params.lens.z * px / zs + params.lens.x, -2.0, 2.0 * params.lens.x + 2.0);
    let v = clamp(params.lens.z * py / zs + params.lens.y, -2.0, 2.0 * params.lens.y + 2.0);
    return vec3<f32>(u, v, pz);
}

// The height field's distance at p: bilinear on smooth surfaces, the nearest texel across a
// depth edge, so an edge stays a step (a ray behind it is seen to be behind) and not a ramp.
fn sample_depth(t: texture_2d<f32>, p: vec2<f32>) -> f32 {
    let qx = p.x - 0.5;
    let qy = p.y - 0.5;
    let fx = floor(qx);
    let fy = floor(qy);
    let wx = qx - fx;
    let wy = qy - fy;
    let i = vec2<i32>(i32(fx), i32(fy));
    let a = load_clamped(t, i).r;
    let b = load_clamped(t, i + vec2<i32>(1, 0)).r;
    let c = load_clamped(t, i + vec2<i32>(0, 1)).r;
    let d = load_clamped(t, i + vec2<i32>(1, 1)).r;
    let lo = min(min(a, b), min(c, d));
    let hi = max(max(a, b), max(c, d));
    if (hi > lo * params.march.w) {
        let top = select(a, b, wx >= 0.5);
        let bottom = select(c, d, wx >= 0.5);
        return select(top, bottom, wy >= 0.5);
    }
    return lerp1(lerp1(a, b, wx), lerp1(c, d, wx), wy);
}

// How far the ray's point at s is behind the surface (positive: under it), and its z.
fn height(t: texture_2d<f32>, origin: vec3<f32>, dir: vec3<f32>, s: f32) -> vec2<f32> {
    let p = project(origin, dir, s);
    if (p.z <= params.min_z) {
        return vec2<f32>(IN_FRONT, p.z);
    }
    return vec2<f32>(p.z - sample_depth(t, p.xy), p.z);
}

// The ray's new-camera depth at march step i: evenly spaced in inverse depth.
fn step_depth(i: u32, n: u32) -> f32 {
    let inv = lerp1(params.march.x, params.march.y, f32(i) / f32(n - 1u));
    return 1.0 / inv;
}

// How many steps the ray needs: one per `step_px` source pixels of the ray's image in the
// source view (the segment from its nearest to its farthest march depth), at least MIN_STEPS
// and at most `steps`. A subtle move has a short segment and needs few steps.
const MIN_STEPS: u32 = 8u;
fn march_steps(origin: vec3<f32>, dir: vec3<f32>) -> u32 {
    let most = max(params.steps, 2u);
    if (params.step_px <= 0.0) {
        return most;
    }
    let a = project(origin, dir, 1.0 / params.march.x);
    let b = project(origin, dir, 1.0 / params.march.y);
    let len = length(b.xy - a.xy);
    return clamp(u32(ceil(len / params.step_px)) + 2u, min(MIN_STEPS, most), most);
}

// Bisections for a march of `n` steps: `refine_steps`, plus one for each halving of the densest
// march (`steps`) that this one's fewer steps give up, so the refined interval is never wider than
// the full march's; a ray that barely moves in the source view (few steps) still lands on the
// surface within the thickness.
fn refine_count(n: u32) -> u32 {
    var extra = 0u;
    var m = max(n, 1u);
    let most = max(params.steps, 2u);
    while (m < most && extra < 16u) {
        m = m * 2u;
        extra = extra + 1u;
    }
    return params.refine_steps + extra;
}

// The side of a depth-bounds tile in pixels, and the march steps passed over at once.
const TILE: i32 = 8;
const STRETCH: u32 = 8u;

// The texel of coordinate q (pixel units), clamped to 0..n-1.
fn texel_of(q: f32, n: i32) -> i32 {
    return clamp(i32(floor(q)), 0, n - 1);
}

// Whether every march step with s in sa..=sb is surely in front of the surface: both ends are
// in front of the near plane's clamp, and the farthest z of the stretch (z is affine in s) is
// below the bound of every tile that the stretch's footprints can touch. Between its ends the
// ray's image is a straight segment, so those tiles are the ones under its bounding box,
// widened by a pixel for rounding.
fn stretch_in_front(bounds: texture_2d<f32>, size: vec2<i32>, origin: vec3<f32>, dir: vec3<f32>, sa: f32, sb: f32) -> bool {
    let a = project(origin, dir, sa);
    let b = project(origin, dir, sb);
    if (a.z <= params.min_z || b.z <= params.min_z) {
        return false;
    }
    let zm = max(a.z, b.z);
    let z = zm + abs(zm) * 1e-5;
    let x0 = texel_of(min(a.x, b.x) - 1.5, size.x) / TILE;
    let x1 = texel_of(max(a.x, b.x) + 0.5, size.x) / TILE;
    let y0 = texel_of(min(a.y, b.y) - 1.5, size.y) / TILE;
    let y1 = texel_of(max(a.y, b.y) + 0.5, size.y) / TILE;
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > 64) {
        return false;
    }
    for (var ty = y0; ty <= y1; ty = ty + 1) {
        for (var tx = x0; tx <= x1; tx = tx + 1) {
            if (!(z < textureLoad(bounds, vec2<i32>(tx, ty), 0).r)) {
                return false;
            }
        }
    }
    return true;
}

// The bound for a sample at p: the tile of its footprint's top-left texel, clamped as
// `sample_depth` clamps it.
fn bound_at(bounds: texture_2d<f32>, size: vec2<i32>, p: vec2<f32>) -> f32 {
    let ix = texel_of(p.x - 0.5, size.x);
    let iy = texel_of(p.y - 0.5, size.y);
    return textureLoad(bounds, vec2<i32>(ix / TILE, iy / TILE), 0).r;
}

// Marches one layer. Returns (s, u, v, kind): kind 1 = a surface hit, 2 = the ray passed behind
// a surface by more than the thickness (s, u, v: the last point in front of it), 0 = nothing.
// With `skip_behind`, a pass behind is remembered and the march goes on to a farther surface.
// Steps that the layer's bounds prove in front of the surface are passed over, a stretch at a
// time or one by one; a step's height is only computed when the next step is under the surface
// and needs it, so the result is the every-step march's.
fn march(t: texture_2d<f32>, bounds: texture_2d<f32>, origin: vec3<f32>, dir: vec3<f32>, skip_behind: bool) -> vec4<f32> {
    let size = vec2<i32>(textureDimensions(t));
    let n = march_steps(origin, dir);
    let refine = refine_count(n);
    var s_prev = step_depth(0u, n);
    var h_prev = IN_FRONT;
    // Whether h_prev is the previous step's height, or that step was passed over.
    var prev_known = true;
    var behind = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var block = 0u;
    while (block < n) {
        let end = min(block + STRETCH, n);
        if (end - block == STRETCH) {
            let last = step_depth(end - 1u, n);
            if (stretch_in_front(bounds, size, origin, dir, step_depth(block, n), last)) {
                s_prev = last;
                prev_known = false;
                block = end;
                continue;
            }
        }
        let first = block;
        block = end;
        for (var i = first; i < end; i = i + 1u) {
            let s = step_depth(i, n);
            let p = project(origin, dir, s);
            if (p.z <= params.min_z || p.z < bound_at(bounds, size, p.xy)) {
                s_prev = s;
                prev_known = false;
                continue;
            }
            let h = p.z - sample_depth(t, p.xy);
            if (h >= 0.0 && !prev_known) {
                h_prev = height(t, origin, dir, s_prev).x;
            }
            if (h >= 0.0 && h_prev < 0.0) {
                var sa = s_prev;
                var ha = h_prev;
                var sb = s;
                var hb = h;
                var zb = p.z;
                for (var k = 0u; k < refine; k = k + 1u) {
                    let sm = 0.5 * (sa + sb);
                    let hm = height(t, origin, dir, sm);
                    if (hm.x >= 0.0) {
                        sb = sm;
                        hb = hm.x;
                        zb = hm.y;
                    } else {
                        sa = sm;
                        ha = hm.x;
                    }
                }
                if (hb <= params.march.z * (zb - hb)) {
                    let f = clamp(-ha / (hb - ha), 0.0, 1.0);
                    let sh = sa + (sb - sa) * f;
                    let q = project(origin, dir, sh);
                    return vec4<f32>(sh, q.x, q.y, 1.0);
                }
                if (behind.w == 0.0) {
                    let q = project(origin, dir, sa);
                    behind = vec4<f32>(sa, q.x, q.y, 2.0);
                }
                if (!skip_behind) {
                    return behind;
                }
            }
            s_prev = s;
            h_prev = h;
            prev_known = true;
        }
    }
    return behind;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let size = textureDimensions(front_aux);
    if (gid.x >= size.x || gid.y >= size.y) {
        return;
    }
    let x = (f32(gid.x) + 0.5 - params.lens.x) / params.lens.w;
    let y = (f32(gid.y) + 0.5 - params.lens.y) / params.lens.w;
    let dir = vec3<f32>(
        params.rot_x.x * x + params.rot_y.x * y + params.rot_z.x,
        params.rot_x.y * x + params.rot_y.y * y + params.rot_z.y,
        params.rot_x.z * x + params.rot_y.z * y + params.rot_z.z,
    );
    let origin = params.centre.xyz;
    var plate = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    var aux = vec4<f32>(1.0 / params.march.y, 0.0, 0.0, 1.0);
    let front = march(front_aux, front_bounds, origin, dir, false);
    if (front.w == 1.0) {
        let p = vec2<f32>(front.y, front.z);
        let a = sample_bilinear(front_aux, p);
        plate = sample_bilinear(front_plate, p);
        aux = vec4<f32>(front.x, a.g, a.b, 0.0);
    } else {
        let back = march(fill_aux, fill_bounds, origin, dir, true);
        if (back.w > 0.0) {
            let p = vec2<f32>(back.y, back.z);
            let a = sample_bilinear(fill_aux, p);
            plate = sample_bilinear(fill_plate, p);
            aux = vec4<f32>(back.x, a.g, a.b, 1.0);
        }
    }
    let q = vec2<i32>(i32(gid.x), i32(gid.y));
    textureStore(out_plate, q, plate);
    textureStore(out_aux, q, aux);
}
