// The app window's backdrop (a render pipeline, not a plan op): one opaque colour, no texture, no
// blending, drawn first under the panels, whose own fills are transparent. On a software
// rasterizer (llvmpipe) egui's textured, blended fill of the panels cost most of a window frame;
// this draws the same pixels several times cheaper. The viewer's rectangle is left out (scissor
// rectangles around it): the display shader covers it.

struct Backdrop {
    // The colour as the render target stores it (gamma-encoded for a unorm target, linear for an
    // sRGB one), premultiplied, opaque.
    colour: vec4<f32>,
}

@group(0) @binding(0) var<uniform> backdrop: Backdrop;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the viewport.
    let x = f32((index << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(index & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs_main() -> @location(0) vec4<f32> {
    return backdrop.colour;
}
