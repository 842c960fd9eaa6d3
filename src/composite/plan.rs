//! The render plan: the layer stack (and camera move) turned into a list of ops over slots.
//!
//! A `Plan` is backend-neutral data. `cpu::render` and `gpu::GpuRenderer::render` execute the
//! same plan, so the CPU reference checks exactly what the GPU draws.

use super::ops::Op;

/// A slot's size in pixels, `(width, height)`.
pub type Size = (u32, u32);

/// An image in the plan: a frame input or the output of a step. Inputs are the frame's size;
/// a step's outputs take the size its op gives them ([`Op::output_size`]): the frame's size, or
/// a reduced size for the ops that work at the scale an effect needs (`Downsample`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(pub usize);

/// The frame inputs a plan can read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Input {
    /// The plate, linear RGBA, premultiplied.
    Plate,
    /// `(distance_m, matte, nearness, 0)` per pixel, from the depth and matte passes.
    Aux,
    /// The camera move's front layer: the plate with depth edges dilated (`prepare`).
    FrontPlate,
    /// The front layer's aux (`distance_m` dilated across depth edges).
    FrontAux,
    /// The camera move's background layer: the plate with foreground near depth edges removed
    /// and filled from the surrounding background (`prepare`).
    FillPlate,
    /// The background layer's aux.
    FillAux,
    /// A background layer's image (index into `Plan::images`), scaled to cover the frame.
    Image(usize),
    /// Transparent black: what the stack starts from.
    Transparent,
}

/// One op applied to input slots, writing new output slots.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What to compute.
    pub op: Op,
    /// Slots read, in binding order.
    pub inputs: Vec<Slot>,
    /// Slots written, in binding order.
    pub outputs: Vec<Slot>,
}

/// A complete plan for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frame inputs and the slots they fill.
    pub inputs: Vec<(Slot, Input)>,
    /// Background image files the plan reads (`Input::Image(i)`).
    pub images: Vec<std::path::PathBuf>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Total number of slots.
    pub slot_count: usize,
    /// Each slot's size (`slot_sizes[s.0]`).
    pub slot_sizes: Vec<Size>,
    /// The composite: premultiplied linear RGBA.
    pub output: Slot,
    /// The (possibly reprojected) aux slot: `(distance_m, matte, nearness, disoccluded)`.
    pub aux_output: Slot,
}

/// Builds a plan step by step.
#[derive(Debug)]
pub struct PlanBuilder {
    width: u32,
    height: u32,
    inputs: Vec<(Slot, Input)>,
    images: Vec<std::path::PathBuf>,
    steps: Vec<Step>,
    slot_count: usize,
    slot_sizes: Vec<Size>,
    reference: bool,
}

impl PlanBuilder {
    /// An empty plan for a `width × height` frame.
    pub fn new(width: u32, height: u32) -> PlanBuilder {
        PlanBuilder {
            width,
            height,
            inputs: Vec::new(),
            images: Vec::new(),
            steps: Vec::new(),
            slot_count: 0,
            slot_sizes: Vec::new(),
            reference: false,
        }
    }

    /// A builder for the full-size reference: every effect worked at the frame's size, with
    /// none of the reduced-size paths (what the reduced paths are measured against).
    pub fn reference(width: u32, height: u32) -> PlanBuilder {
        PlanBuilder {
            reference: true,
            ..PlanBuilder::new(width, height)
        }
    }

    /// May effects be worked at a reduced size (false for the full-size reference)?
    pub fn may_reduce(&self) -> bool {
        !self.reference
    }

    /// A slot's size (the frame's for an unknown slot).
    pub fn size(&self, slot: Slot) -> Size {
        self.slot_sizes
            .get(slot.0)
            .copied()
            .unwrap_or((self.width, self.height))
    }

    /// Frame width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Frame height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The slot holding a frame input (one slot per distinct input).
    pub fn input(&mut self, input: Input) -> Slot {
        if let Some((slot, _)) = self.inputs.iter().find(|(_, i)| *i == input) {
            return *slot;
        }
        let slot = self.new_slot((self.width, self.height));
        self.inputs.push((slot, input));
        slot
    }

    /// The slot holding a background image file, scaled to cover the frame.
    pub fn image(&mut self, path: std::path::PathBuf) -> Slot {
        let index = match self.images.iter().position(|p| *p == path) {
            Some(i) => i,
            None => {
                self.images.push(path);
                self.images.len() - 1
            }
        };
        self.input(Input::Image(index))
    }

    fn new_slot(&mut self, size: Size) -> Slot {
        self.slot_sizes.push(size);
        self.slot_count += 1;
        Slot(self.slot_count - 1)
    }

    /// Appends a step reading `inputs`; returns its new output slots.
    pub fn push(&mut self, op: impl Into<Op>, inputs: &[Slot]) -> Vec<Slot> {
        let op = op.into();
        debug_assert_eq!(op.inputs(), inputs.len(), "{} input count", op.shader());
        let sizes: Vec<Size> = inputs.iter().map(|s| self.size(*s)).collect();
        let size = op.output_size(&sizes, (self.width, self.height));
        let outputs: Vec<Slot> = (0..op.outputs()).map(|_| self.new_slot(size)).collect();
        self.steps.push(Step {
            op,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
        });
        outputs
    }

    /// Appends a one-output step; returns its output slot.
    pub fn push1(&mut self, op: impl Into<Op>, inputs: &[Slot]) -> Slot {
        let outputs = self.push(op, inputs);
        outputs[0]
    }

    /// Finishes the plan with its composite and aux output slots.
    pub fn finish(self, output: Slot, aux_output: Slot) -> Plan {
        Plan {
            width: self.width,
            height: self.height,
            inputs: self.inputs,
            images: self.images,
            steps: self.steps,
            slot_count: self.slot_count,
            slot_sizes: self.slot_sizes,
            output,
            aux_output,
        }
    }
}

impl Plan {
    /// A slot's size (the frame's for an unknown slot).
    pub fn size(&self, slot: Slot) -> Size {
        self.slot_sizes
            .get(slot.0)
            .copied()
            .unwrap_or((self.width, self.height))
    }

    /// For each slot, the index of the last step that reads it (`None`: never read by a step),
    /// so executors can free a slot as soon as it is dead.
    pub fn last_reads(&self) -> Vec<Option<usize>> {
        let mut last = vec![None; self.slot_count];
        for (i, step) in self.steps.iter().enumerate() {
            for s in &step.inputs {
                last[s.0] = Some(i);
            }
        }
        last
    }
}
