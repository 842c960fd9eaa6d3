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
    // Unused (the target's encoding is the SRGB_TARGET constant below).
    pad2: u32,
    // The viewer's display settings (screen only): linear gain (2^stops), gamma, transform
    // (0 sRGB, 1 Rec.709, 2 raw), channel (0 RGB, 1 R, 2 G, 3 B, 4 A, 5 luminance, 6 depth,
    // 7 matte), matte overlay opacity, zebra (1 on).
    gain: f32,
    gamma: f32,
    transform: u32,
    channel: u32,
    overlay: f32,
    zebra: u32,
    pad0: u32,
    pad1: u32,
    // The working space to linear Rec.709, applied before the transform (identity when the
    // working space is linear Rec.709; ACEScg's matrix otherwise). The CPU twin is
    // `DisplaySettings::codes`.
    to_rec709: mat3x3<f32>,
}

@group(0) @binding(0) var<uniform> display: Display;
// Whether the render target encodes sRGB itself: the CPU sets it when it makes the pipelines
// (`viewer::opaque_pipeline`; the target's format never changes). A constant and not a uniform,
// so that `to_target`'s decode is compiled out where the target does not want it: a software
// rasterizer would otherwise run its three `pow`s for every pixel either way.
override SRGB_TARGET: bool = false;
@group(0) @binding(1) var composite_tex: texture_2d<f32>;
@group(0) @binding(2) var plate_tex: texture_2d<f32>;
@group(0) @binding(3) var aux_tex: texture_2d<f32>;
// `to_screen` of one channel tabulated (`fs_plain`'s lookup): entry i is the screen value of a
// linear value t = (i / (N - 1))² after the gain, as the target wants it. The CPU writes it
// (`viewer::screen_lut`) from the CPU twin of `to_screen` whenever the transform or the target
// changes (the gain is applied here, before the lookup).
@group(0) @binding(4) var screen_lut: texture_2d<f32>;
// `fs_plain`'s picture: the composite (half floats, so filterable), sampled by the texture unit
// with the filter the CPU picked (nearest when the viewer enlarges a full-size composite,
// bilinear when it reduces one or enlarges a draft; the same pixels `fetch` and `colour_of` pick).
@group(0) @binding(5) var shown_sampler: sampler;
@group(0) @binding(6) var shown_tex: texture_2d<f32>;

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

fn srgb_decode(c: f32) -> f32 {
    if (c <= 0.04045) {
        return c / 12.92;
    }
    return pow((c + 0.055) / 1.055, 2.4);
}

fn rec709_encode(c: f32) -> f32 {
    let x = max(c, 0.0);
    if (x < 0.018) {
        return 4.5 * x;
    }
    return 1.099 * pow(x, 0.45) - 0.099;
}

// A screen value (0..1) as the render target wants it: a target that encodes sRGB itself gets
// the value that its encoding turns into this one.
fn to_target(v: vec3<f32>) -> vec3<f32> {
    let c = clamp(v, vec3<f32>(0.0), vec3<f32>(1.0));
    if (SRGB_TARGET) {
        return vec3<f32>(srgb_decode(c.r), srgb_decode(c.g), srgb_decode(c.b));
    }
    return c;
}

// Linear light to the screen: gain, gamma, then the transform (the CPU twin is
// `DisplaySettings::code`).
fn to_screen(rgb: vec3<f32>) -> vec3<f32> {
    var x = rgb * display.gain;
    if (abs(display.gamma - 1.0) > 1e-6) {
        x = pow(max(x, vec3<f32>(0.0)), vec3<f32>(1.0 / max(display.gamma, 0.01)));
    }
    x = clamp(x, vec3<f32>(0.0), vec3<f32>(1.0));
    var v = x;
    if (display.transform == 0u) {
        v = vec3<f32>(srgb_encode(x.r), srgb_encode(x.g), srgb_encode(x.b));
    } else if (display.transform == 1u) {
        v = vec3<f32>(rec709_encode(x.r), rec709_encode(x.g), rec709_encode(x.b));
    }
    return to_target(v);
}

// False colours and the checkerboard are screen values already.
fn from_display(rgb: vec3<f32>) -> vec3<f32> {
    return to_target(rgb);
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

fn checker_light(px: vec2<f32>) -> bool {
    return ((i32(floor(px.x / 8.0)) + i32(floor(px.y / 8.0))) & 1) == 1;
}

fn checker(px: vec2<f32>) -> vec3<f32> {
    return select(vec3<f32>(0.16), vec3<f32>(0.22), checker_light(px));
}

// `from_display(checker(px))`, with the two squares' colours converted as constants.
fn checker_on_target(px: vec2<f32>) -> vec3<f32> {
    return select(from_display(vec3<f32>(0.16)), from_display(vec3<f32>(0.22)), checker_light(px));
}

// The colour of a view at image point p, before the channel choice: premultiplied linear RGBA.
fn colour_of(view: u32, p: vec2<f32>) -> vec4<f32> {
    if (view == 0u) {
        return fetch(plate_tex, p);
    }
    // A draft composite (made smaller while a control is dragged) is enlarged to the plate.
    let plate_size = vec2<f32>(textureDimensions(plate_tex));
    let comp_size = vec2<f32>(textureDimensions(composite_tex));
    if (any(comp_size != plate_size)) {
        return sample_bilinear(composite_tex, p * comp_size / plate_size);
    }
    return fetch(composite_tex, p);
}

// Zebra stripes (diagonal, 6 px) over a screen value that clips.
fn zebra(rgb_linear: vec3<f32>, out: vec3<f32>, screen: vec2<f32>) -> vec3<f32> {
    let x = rgb_linear * display.gain;
    let high = max(x.r, max(x.g, x.b)) > 1.0;
    let low = min(x.r, min(x.g, x.b)) < 0.0;
    if (display.zebra == 0u || !(high || low)) {
        return out;
    }
    let stripe = (i32(floor((screen.x + screen.y) / 6.0)) & 1) == 0;
    if (!stripe) {
        return out;
    }
    if (high) {
        return from_display(vec3<f32>(0.05));
    }
    return from_display(vec3<f32>(0.2, 0.4, 1.0));
}

fn shade(view: u32, p: vec2<f32>, screen: vec2<f32>) -> vec3<f32> {
    var v = view;
    // Depth and matte channels show the aux whatever the view.
    if (display.channel == 6u) {
        v = 1u;
    } else if (display.channel == 7u) {
        v = 2u;
    }
    if (v == 1u || v == 2u) {
        if (display.has_aux == 0u) {
            return from_display(checker(screen) * 0.6);
        }
        let a = fetch(aux_tex, p);
        if (v == 1u) {
            return from_display(turbo(a.b));
        }
        return to_screen(vec3<f32>(a.g));
    }
    let c = colour_of(v, p);
    // The picture in linear Rec.709, whatever the working space (a linear map, so it commutes
    // with the premultiplication).
    let rgb = display.to_rec709 * c.rgb;
    var out: vec3<f32>;
    var shown = rgb;
    if (display.channel == 0u) {
        // Premultiplied over a checkerboard (in display space, as viewers show transparency).
        let under = checker_on_target(screen);
        out = to_screen(rgb) + under * (1.0 - clamp(c.a, 0.0, 1.0));
    } else {
        var g = 0.0;
        switch display.channel {
            case 1u: { g = c.r; }
            case 2u: { g = c.g; }
            case 3u: { g = c.b; }
            case 4u: { g = c.a; }
            default: { g = dot(rgb, vec3<f32>(0.2126, 0.7152, 0.0722)); }
        }
        shown = vec3<f32>(g);
        out = to_screen(shown);
    }
    // The matte tinted over the picture.
    if (display.overlay > 0.0 && display.has_aux == 1u) {
        let m = clamp(fetch(aux_tex, p).g, 0.0, 1.0) * display.overlay;
        out = mix(out, from_display(vec3<f32>(1.0, 0.2, 0.25)), m * 0.6);
    }
    return zebra(shown, out, screen);
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

// `to_screen` of one channel from the table: the value after the gain, clamped, indexed by its
// square root (even steps in the square root put more entries in the darks, where the curve
// bends most) and interpolated. Within 1e-5 of `to_screen` for gamma 1 (2e-4 at the step in the
// Rec.709 curve at 0.018).
fn screen_from_lut(x: f32) -> f32 {
    let n = textureDimensions(screen_lut).x;
    let r = sqrt(clamp(x * display.gain, 0.0, 1.0)) * f32(n - 1u);
    let i = min(u32(r), n - 2u);
    let f = r - f32(i);
    let a = textureLoad(screen_lut, vec2<i32>(i32(i), 0), 0).r;
    let b = textureLoad(screen_lut, vec2<i32>(i32(i) + 1, 0), 0).r;
    return mix(a, b, f);
}

// `fs_main` for the viewer's common case, which the CPU picks it for: the composite alone, with
// no wipe line on screen, all channels, no matte overlay, no zebra, gamma 1.
// The same pixels, in a fraction of the work: a software rasterizer runs every instruction of a
// shader for every pixel whatever its uniforms select, and `fs_main`'s branches and three `pow`s
// a pixel were most of a window frame there (issue 8).
@fragment
fn fs_plain(in: VertexOut) -> @location(0) vec4<f32> {
    let local = in.position.xy - display.origin_px;
    let p = (local - display.image_origin_px) / display.scale;
    let size = vec2<f32>(textureDimensions(plate_tex));
    if (p.x < 0.0 || p.y < 0.0 || p.x >= size.x || p.y >= size.y) {
        return vec4<f32>(from_display(vec3<f32>(0.09)), 1.0);
    }
    let c = textureSampleLevel(shown_tex, shown_sampler, p / size, 0.0);
    let rgb = display.to_rec709 * c.rgb;
    let screen = vec3<f32>(screen_from_lut(rgb.r), screen_from_lut(rgb.g), screen_from_lut(rgb.b));
    let under = checker_on_target(local);
    return vec4<f32>(screen + under * (1.0 - clamp(c.a, 0.0, 1.0)), 1.0);
}
