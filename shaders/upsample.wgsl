// Upsample: output pixel (x, y) samples the reduced input bilinearly at
// ((x + 0.5) / factor, (y + 0.5) / factor), clamp-to-edge (CPU twin: ops/stack.rs).
#include "common.wgsl"

struct Params {
    width: u32,
    height: u32,
    factor: f32,
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
    let p = (vec2<f32>(id.xy) + vec2<f32>(0.5, 0.5)) / params.factor;
    textureStore(out_tex, vec2<i32>(id.xy), sample_bilinear(src_tex, p));
}
