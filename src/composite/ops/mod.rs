//! The render plan's ops: each is one compute shader in `shaders/` and its CPU twin.
//!
//! ## The op convention (every op follows it)
//! - The shader is `shaders/<name>.wgsl`, entry point `main`, `@workgroup_size(8, 8)`, one
//!   invocation per output pixel; it returns early outside the output's dimensions.
//! - Bind group 0: binding 0 is `var<uniform> params: Params`; bindings `1..=inputs` are the
//!   inputs as `texture_2d<f32>` (rgba32float, read with `textureLoad`/`load_clamped`/
//!   `sample_bilinear`, never a sampler); the next `outputs` bindings are
//!   `texture_storage_2d<rgba32float, write>`. A slot is the frame's size unless a resampling
//!   op made it smaller ([`Op::output_size`]); one invocation per pixel of the *output*.
//! - The Rust params struct is `#[repr(C)]` + `bytemuck::Pod`, laid out exactly like the WGSL
//!   `Params` struct (4-byte scalars, `[f32; 4]` for `vec4<f32>` at 16-byte offsets,
//!   `[[f32; 4]; 4]` for `mat4x4<f32>`), padded to a multiple of 16 bytes.
//! - `run_cpu` computes the same pixels with the same formulas (see `composite::image` for the
//!   sampling twins of `shaders/common.wgsl`).

pub mod depth_fx;
pub mod reproject;
pub mod stack;

use super::image::Image;

/// One step's operation, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Layer-stack building blocks: blend, blur, erode/dilate, cut-out, background.
    Stack(stack::StackOp),
    /// Depth effects: fog, depth of field, depth grade.
    DepthFx(depth_fx::DepthFxOp),
    /// The 2.5D camera move's reprojection.
    Reproject(reproject::ReprojectOp),
}

impl Op {
    /// The shader's file name in `shaders/`, e.g. `"blend.wgsl"`.
    pub fn shader(&self) -> &'static str {
        match self {
            Op::Stack(op) => op.shader(),
            Op::DepthFx(op) => op.shader(),
            Op::Reproject(op) => op.shader(),
        }
    }

    /// How many input textures the shader binds (bindings `1..=inputs`).
    pub fn inputs(&self) -> usize {
        match self {
            Op::Stack(op) => op.inputs(),
            Op::DepthFx(op) => op.inputs(),
            Op::Reproject(op) => op.inputs(),
        }
    }

    /// How many output storage textures the shader binds (after the inputs).
    pub fn outputs(&self) -> usize {
        match self {
            Op::Stack(op) => op.outputs(),
            Op::DepthFx(op) => op.outputs(),
            Op::Reproject(op) => op.outputs(),
        }
    }

    /// The size of the outputs given the inputs' sizes (and the frame's, for ops without
    /// inputs): the first input's, except for the resampling ops.
    pub fn output_size(&self, inputs: &[(u32, u32)], frame: (u32, u32)) -> (u32, u32) {
        match self {
            Op::Stack(op) => op.output_size(inputs, frame),
            Op::DepthFx(op) => op.output_size(inputs, frame),
            Op::Reproject(op) => op.output_size(inputs, frame),
        }
    }

    /// The uniform block's bytes (a multiple of 16).
    pub fn params(&self) -> Vec<u8> {
        match self {
            Op::Stack(op) => op.params(),
            Op::DepthFx(op) => op.params(),
            Op::Reproject(op) => op.params(),
        }
    }

    /// Computes the outputs on the CPU: the reference the GPU path is tested against.
    pub fn run_cpu(&self, inputs: &[&Image], outputs: &mut [Image]) {
        self.run_cpu_cancellable(inputs, outputs, None);
    }

    /// [`Op::run_cpu`], which a long op (the reprojection, the one op of a frame that takes a
    /// large part of it) cuts short once `cancel` is set: its outputs are then incomplete, and
    /// the caller must discard them.
    pub fn run_cpu_cancellable(
        &self,
        inputs: &[&Image],
        outputs: &mut [Image],
        cancel: Option<&std::sync::atomic::AtomicBool>,
    ) {
        match self {
            Op::Stack(op) => op.run_cpu(inputs, outputs),
            Op::DepthFx(op) => op.run_cpu(inputs, outputs),
            Op::Reproject(op) => op.run_cpu_cancellable(inputs, outputs, cancel),
        }
    }
}

impl From<stack::StackOp> for Op {
    fn from(op: stack::StackOp) -> Op {
        Op::Stack(op)
    }
}

impl From<depth_fx::DepthFxOp> for Op {
    fn from(op: depth_fx::DepthFxOp) -> Op {
        Op::DepthFx(op)
    }
}

impl From<reproject::ReprojectOp> for Op {
    fn from(op: reproject::ReprojectOp) -> Op {
        Op::Reproject(op)
    }
}
