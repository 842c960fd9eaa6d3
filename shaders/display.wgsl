// The viewer's display transform (a render pipeline, not a plan op): draws the composite, the
// plate, the depth in false colour or the matte into the viewer's rectangle, with zoom, pan and an
// A/B wipe. Data stays linear and untouched in the plan's textures; only this shader maps it for
// the screen (sRGB encode, false colour). Never used for exports.
#include "common.wgsl"

struct Display {
    // Viewer rectangle's top-left in framebuffer pixels, and its size.
    origin_px: vec2<f32>,
    size_px: vec2<f32>,
    // The image's top-left inside the viewer, in pixels, and screen pixels per image pixel.
    image_origin_px: vec2<f32>,
    scale: f32,
    // What to show left of the wipe (a) and right of it (b): 0 plate, 1 depth, 2 matte,
    // 3 composite.
    view_a: u32,
    view_b: u32,
    // The wipe's x in viewer pixels (a beyond the right edge when there is no wipe).
    wipe_px: f32,
    // 1 when the aux (depth, matte) is valid.
    has_aux: u32,
    // 1 when the render target encodes sRGB itself.
    srgb_target: u32,
}

@group(0) @binding(0) var<uniform> display: Display;
@group(0) @binding(1) var composite_tex: texture_2d<f32>;
@group(0) @binding(2) var plate_tex: texture_2d<f32>;
@group(0) @binding(3) var aux_tex: texture_2d<f32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // One triangle covering the viewport.
    let x = f32((index << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(index & 2u) * 2.0 - 1.0;
    var out: VertexOut;
    out.position = vec4<f32>(x, y, 0.0, 1.0);
    return out;
}

fn srgb_encode(c: f32) -> f32 {
    let x = max(c, 0.0);
    if (x <= 0.0031308) {
        return 12.92 * x;
    }
    return 1.055 * pow(x, 1.0 / 2.4) - 0.055;
}

fn to_screen(rgb: vec3<f32>) -> vec3<f32> {
    if (display.srgb_target == 1u) {
        return rgb;
    }
    return vec3<f32>(srgb_encode(rgb.r), srgb_encode(rgb.g), srgb_encode(rgb.b));
}

fn from_display(rgb: vec3<f32>) -> vec3<f32> {
    // False colours are display values already; undo the target's own encoding.
    if (display.srgb_target == 1u) {
        return pow(rgb, vec3<f32>(2.2));
    }
    return rgb;
}

// Google's Turbo colour map (polynomial fit): near = red, far = blue.
fn turbo(x: f32) -> vec3<f32> {
    let t = clamp(x, 0.0, 1.0);
    let v4 = vec4<f32>(1.0, t, t * t, t * t * t);
    let v2 = v4.zw * v4.z;
    let r = dot(v4, vec4<f32>(0.13572138, 4.61539260, -42.66032258, 132.13108234))
        + dot(v2, vec2<f32>(-152.94239396, 59.28637943));
    let g = dot(v4, vec4<f32>(0.09140261, 2.19418839, 4.84296658, -14.18503333))
        + dot(v2, vec2<f32>(4.27729857, 2.82956604));
    let b = dot(v4, vec4<f32>(0.10667330, 12.64194608, -60.58204836, 110.36276771))
        + dot(v2, vec2<f32>(-89.90310912, 27.34824973));
    return clamp(vec3<f32>(r, g, b), vec3<f32>(0.0), vec3<f32>(1.0));
}

fn fetch(t: texture_2d<f32>, p: vec2<f32>) -> vec4<f32> {
    if (display.scale >= 1.0) {
        return load_clamped(t, vec2<i32>(floor(p)));
    }
    return sample_bilinear(t, p);
}

fn checker(px: vec2<f32>) -> vec3<f32> {
    let c = (i32(floor(px.x / 8.0)) + i32(floor(px.y / 8.0))) & 1;
    return select(vec3<f32>(0.16), vec3<f32>(0.22), c == 1);
}

fn shade(view: u32, p: vec2<f32>, screen: vec2<f32>) -> vec3<f32> {
    if (view == 1u || view == 2u) {
        if (display.has_aux == 0u) {
            return from_display(checker(screen) * 0.6);
        }
        let a = fetch(aux_tex, p);
        if (view == 1u) {
            return from_display(turbo(a.b));
        }
        return to_screen(vec3<f32>(a.g));
    }
    var c: vec4<f32>;
    if (view == 0u) {
        c = fetch(plate_tex, p);
    } else {
        // A draft composite (made smaller while a control is dragged) is enlarged to the plate.
        let plate_size = vec2<f32>(textureDimensions(plate_tex));
        let comp_size = vec2<f32>(textureDimensions(composite_tex));
        if (any(comp_size != plate_size)) {
            c = sample_bilinear(composite_tex, p * comp_size / plate_size);
        } else {
            c = fetch(composite_tex, p);
        }
    }
    // Premultiplied over a checkerboard (in display space, as viewers show transparency).
    let under = from_display(checker(screen));
    return to_screen(c.rgb) + under * (1.0 - clamp(c.a, 0.0, 1.0));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let local = in.position.xy - display.origin_px;
    let p = (local - display.image_origin_px) / display.scale;
    let size = vec2<f32>(textureDimensions(plate_tex));
    if (p.x < 0.0 || p.y < 0.0 || p.x >= size.x || p.y >= size.y) {
        return vec4<f32>(from_display(vec3<f32>(0.09)), 1.0);
    }
    var view = display.view_a;
    if (local.x >= display.wipe_px) {
        view = display.view_b;
    }
    var rgb = shade(view, p, local);
    // The wipe line.
    if (abs(local.x - display.wipe_px) < 1.0) {
        rgb = vec3<f32>(1.0, 0.8, 0.2);
    }
    return vec4<f32>(rgb, 1.0);
}
