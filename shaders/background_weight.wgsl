// Background weight: [plate, aux] -> (I * w, w) with w = (1 - matte) + params.floor, so that a blur
// followed by un-premultiplying averages the BACKGROUND around each pixel (the subject does not
// smear into its own new background); `floor` falls back to the plain plate where a large subject
// leaves no background within reach (CPU twin: ops/stack.rs, `background_weight_cpu`).
#include "common.wgsl"
#include "stack_common.wgsl"

struct Params {
    channel: u32,
    floor: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var plate_tex: texture_2d<f32>;
@group(0) @binding(2) var aux_tex: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let i = unpremultiply(load_clamped(plate_tex, p));
    let alpha = clamp(load_clamped(aux_tex, p)[params.channel], 0.0, 1.0);
    let w = (1.0 - alpha) + params.floor;
    textureStore(out_tex, p, vec4<f32>(i * w, w));
}
