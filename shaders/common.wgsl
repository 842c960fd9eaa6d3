// Shared helpers for every compositor shader. Included with `#include "common.wgsl"`.
// Each function here has a CPU twin in src/composite/image.rs with the same formula, so the
// CPU reference and the GPU path agree to rounding.

const PI: f32 = 3.14159265358979;

// The pixel at p, with coordinates clamped to the edge.
fn load_clamped(t: texture_2d<f32>, p: vec2<i32>) -> vec4<f32> {
    let d = vec2<i32>(textureDimensions(t));
    return textureLoad(t, clamp(p, vec2<i32>(0, 0), d - vec2<i32>(1, 1)), 0);
}

// Bilinear sample at p in pixel units (pixel (i, j) has its centre at (i + 0.5, j + 0.5)),
// clamp-to-edge. Done by hand because rgba32float is not filterable everywhere.
fn sample_bilinear(t: texture_2d<f32>, p: vec2<f32>) -> vec4<f32> {
    let q = p - vec2<f32>(0.5, 0.5);
    let f = floor(q);
    let w = q - f;
    let i = vec2<i32>(f);
    let a = load_clamped(t, i);
    let b = load_clamped(t, i + vec2<i32>(1, 0));
    let c = load_clamped(t, i + vec2<i32>(0, 1));
    let d = load_clamped(t, i + vec2<i32>(1, 1));
    return mix(mix(a, b, w.x), mix(c, d, w.x), w.y);
}

// The pixel p of a full-size image read from `t`, which may be that image reduced by `factor`
// (a blur worked at a reduced size): then a bilinear sample at p's centre scaled down.
fn read_scaled(t: texture_2d<f32>, p: vec2<i32>, factor: f32) -> vec4<f32> {
    if (factor > 1.0) {
        return sample_bilinear(t, (vec2<f32>(p) + vec2<f32>(0.5, 0.5)) / factor);
    }
    return load_clamped(t, p);
}

// Rec. 709 luminance of linear RGB.
fn luminance(c: vec4<f32>) -> f32 {
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}
