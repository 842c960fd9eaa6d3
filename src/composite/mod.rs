//! The compositor: the layer stack and the 2.5D camera move as a render plan of WGSL shader ops,
//! executed on the GPU (`gpu`, wgpu) or by the CPU reference (`cpu`).
//!
//! - `layers`: the artist's layer stack and scene settings (saved in the project file).
//! - `camera`: keyframed camera moves, evaluated to a pose per frame.
//! - `prepare`: the camera move's front and background layers (depth-edge dilation, background fill).
//! - `refine`: the artist's matte brush strokes, applied to a frame's matte non-destructively.
//! - `plan`: the backend-neutral plan (ops over frame-sized slots); `planner` builds it.
//! - `ops`: every op, with its shader in `shaders/` and its CPU twin.
//! - `image`: the working image type and the sampling twins of `shaders/common.wgsl`.
//! - `shaders`: the embedded WGSL and its `#include` resolver.

pub mod camera;
pub mod cpu;
pub mod frame_cache;
pub mod gpu;
pub mod image;
pub mod layers;
pub mod ops;
pub mod plan;
pub mod planner;
pub mod prepare;
pub mod refine;
pub mod shaders;
pub mod subject;

use std::path::PathBuf;

/// Why a composite could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum CompositeError {
    /// A shader is missing or does not compile.
    #[error("shader {name}: {message}")]
    Shader {
        /// The shader file.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No usable GPU adapter.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The GPU reported an error.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// A frame input is missing or has the wrong size.
    #[error("{path}: {message}")]
    Input {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The plan is inconsistent (a bug, reported rather than panicking).
    #[error("render plan: {0}")]
    Plan(String),
    /// The composite was stopped because a newer request made it stale (the app's viewer).
    #[error("composite cancelled: a newer one was asked for")]
    Cancelled,
}

use image::Image;
use plan::{Input, Plan};

/// The images a plan reads for one frame. All are the frame's size.
#[derive(Debug, Clone, Default)]
pub struct FrameInputs {
    /// The plate, linear RGBA, premultiplied.
    pub plate: Option<Image>,
    /// `(distance_m, matte, nearness, 0)`.
    pub aux: Option<Image>,
    /// The camera move's front layer (plate, aux), from `prepare`.
    pub front: Option<(Image, Image)>,
    /// The camera move's filled background layer (plate, aux), from `prepare`.
    pub fill: Option<(Image, Image)>,
    /// Background images, in `Plan::images` order, already scaled to the frame.
    pub images: Vec<Image>,
    /// Transparent black of the frame's size, made on first use.
    pub transparent: std::sync::OnceLock<Image>,
}

impl FrameInputs {
    /// The image for one plan input.
    pub fn get(&self, input: &Input) -> Option<&Image> {
        match input {
            Input::Plate => self.plate.as_ref(),
            Input::Aux => self.aux.as_ref(),
            Input::FrontPlate => self.front.as_ref().map(|f| &f.0),
            Input::FrontAux => self.front.as_ref().map(|f| &f.1),
            Input::FillPlate => self.fill.as_ref().map(|f| &f.0),
            Input::FillAux => self.fill.as_ref().map(|f| &f.1),
            Input::Image(i) => self.images.get(*i),
            Input::Transparent => {
                let size = self.plate.as_ref().or(self.aux.as_ref())?;
                Some(
                    self.transparent
                        .get_or_init(|| Image::new(size.width, size.height)),
                )
            }
        }
    }

    /// Checks that every input the plan reads is present and of the plan's size.
    pub fn check(&self, plan: &Plan) -> Result<(), CompositeError> {
        for (_, input) in &plan.inputs {
            let image = self
                .get(input)
                .ok_or_else(|| CompositeError::Plan(format!("missing frame input {input:?}")))?;
            if image.width != plan.width || image.height != plan.height {
                return Err(CompositeError::Plan(format!(
                    "frame input {input:?} is {}x{}, the plan is {}x{}",
                    image.width, image.height, plan.width, plan.height
                )));
            }
        }
        Ok(())
    }
}

/// A rendered frame: the composite and the (possibly reprojected) aux.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Premultiplied linear RGBA.
    pub rgba: Image,
    /// `(distance_m, matte, nearness, disoccluded)`.
    pub aux: Image,
}
