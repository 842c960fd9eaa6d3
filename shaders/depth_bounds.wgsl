// A layer's depth bounds for the camera move's march: per 8×8 tile of the aux, a lower bound of
// its distances over the tile's pixels and one more column and row (the 2×2 footprint of a
// sample whose top-left texel is in the tile), less a margin far wider than the rounding of the
// bilinear mix. One invocation per tile.
// CPU twin: `depth_bounds` in src/composite/ops/reproject.rs.
// Bindings: aux -> bounds (r; an image ⌈w/8⌉ × ⌈h/8⌉). Binding 0, the `Params` uniform of
// every op, is not declared: this op has no parameters.

const TILE: i32 = 8;

@group(0) @binding(1) var aux: texture_2d<f32>;
@group(0) @binding(2) var out_tex: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let tiles = textureDimensions(out_tex);
    if (gid.x >= tiles.x || gid.y >= tiles.y) {
        return;
    }
    let size = vec2<i32>(textureDimensions(aux));
    let t = vec2<i32>(gid.xy);
    let lo_px = min(t * TILE, size - vec2<i32>(1, 1));
    let hi_px = min((t + vec2<i32>(1, 1)) * TILE, size - vec2<i32>(1, 1));
    var lo = 1.0e38;
    for (var y = lo_px.y; y <= hi_px.y; y = y + 1) {
        for (var x = lo_px.x; x <= hi_px.x; x = x + 1) {
            lo = min(lo, textureLoad(aux, vec2<i32>(x, y), 0).r);
        }
    }
    textureStore(out_tex, t, vec4<f32>(lo - abs(lo) * 1e-5 - 1e-30, 0.0, 0.0, 0.0));
}
