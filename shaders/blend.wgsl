// Blend: out = mix(dst, B(src, dst), opacity), premultiplied RGBA.
// Mode codes: 0 over, 1 add, 2 multiply, 3 screen, 4 replace (CPU twin: ops/stack.rs).
#include "common.wgsl"

struct Params {
    mode: u32,
    opacity: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var dst_tex: texture_2d<f32>;
@group(0) @binding(2) var src_tex: texture_2d<f32>;
@group(0) @binding(3) var out_tex: texture_storage_2d<rgba32float, write>;

fn blend(mode: u32, s: vec4<f32>, d: vec4<f32>) -> vec4<f32> {
    let sa = s.a;
    let da = d.a;
    switch mode {
        case 1u: {
            return vec4<f32>(s.rgb + d.rgb, sa + da * (1.0 - sa));
        }
        case 2u: {
            let rgb = s.rgb * d.rgb + s.rgb * (1.0 - da) + d.rgb * (1.0 - sa);
            return vec4<f32>(rgb, sa + da - sa * da);
        }
        case 3u: {
            return s + d - s * d;
        }
        case 4u: {
            return s;
        }
        default: {
            return s + d * (1.0 - sa);
        }
    }
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let size = textureDimensions(out_tex);
    if (id.x >= size.x || id.y >= size.y) {
        return;
    }
    let p = vec2<i32>(id.xy);
    let d = load_clamped(dst_tex, p);
    let s = load_clamped(src_tex, p);
    let b = blend(params.mode, s, d);
    textureStore(out_tex, p, mix(d, b, params.opacity));
}
