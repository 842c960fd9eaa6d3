// Shared helpers of the layer-stack shaders (blend, blur, minmax, cut-out, background).
// Included with `#include "stack_common.wgsl"`; the CPU twins are in src/composite/ops/stack.rs.

// Below this alpha a premultiplied colour is taken as it is rather than divided by alpha.
const ALPHA_EPS: f32 = 1e-6;
// Below this a blurred weight (blur(a) or blur(1 - a)) counts as zero: nothing to average.
const WEIGHT_EPS: f32 = 1e-6;

// c.rgb / c.a, or c.rgb where alpha is ~0.
fn unpremultiply(c: vec4<f32>) -> vec3<f32> {
    if (c.a > ALPHA_EPS) {
        return vec3<f32>(c.r / c.a, c.g / c.a, c.b / c.a);
    }
    return c.rgb;
}

// The unit step along an axis code (0 x, anything else y).
fn axis_dir(axis: u32) -> vec2<i32> {
    if (axis == 0u) {
        return vec2<i32>(1, 0);
    }
    return vec2<i32>(0, 1);
}
