//! (being written) ops for this part of the compositor.

use crate::composite::image::Image;

/// The ops of this module.
#[derive(Debug, Clone, PartialEq)]
pub enum DepthFxOp {}

impl DepthFxOp {
    /// Shader file name.
    pub fn shader(&self) -> &'static str {
        match *self {}
    }
    /// Input count.
    pub fn inputs(&self) -> usize {
        match *self {}
    }
    /// Output count.
    pub fn outputs(&self) -> usize {
        match *self {}
    }
    /// Uniform bytes.
    pub fn params(&self) -> Vec<u8> {
        match *self {}
    }
    /// CPU twin.
    pub fn run_cpu(&self, _inputs: &[&Image], _outputs: &mut [Image]) {
        match *self {}
    }
}
