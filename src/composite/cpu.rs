//! The CPU reference: executes a render plan op by op with each op's `run_cpu`.
//!
//! It is the check on the GPU path in tests and the fallback renderer (`--renderer cpu`) on
//! machines with no usable adapter. Each op is parallel over rows (rayon).

use super::image::Image;
use super::plan::Plan;
use super::{CompositeError, FrameInputs, Rendered};

/// Renders a plan on the CPU.
pub fn render(plan: &Plan, inputs: &FrameInputs) -> Result<Rendered, CompositeError> {
    inputs.check(plan)?;
    let mut slots: Vec<Option<Image>> = vec![None; plan.slot_count];
    for (slot, input) in &plan.inputs {
        slots[slot.0] = inputs.get(input).cloned();
    }
    let last_reads = plan.last_reads();
    let keep = |s: usize| s == plan.output.0 || s == plan.aux_output.0;
    for (i, step) in plan.steps.iter().enumerate() {
        let mut outputs: Vec<Image> = step
            .outputs
            .iter()
            .map(|_| Image::new(plan.width, plan.height))
            .collect();
        {
            let mut ins = Vec::with_capacity(step.inputs.len());
            for s in &step.inputs {
                let image = slots.get(s.0).and_then(|x| x.as_ref()).ok_or_else(|| {
                    CompositeError::Plan(format!(
                        "step {i} ({}) reads slot {} before it is written",
                        step.op.shader(),
                        s.0
                    ))
                })?;
                ins.push(image);
            }
            step.op.run_cpu(&ins, &mut outputs);
        }
        for (s, image) in step.outputs.iter().zip(outputs) {
            slots[s.0] = Some(image);
        }
        // Free what no later step reads.
        for s in &step.inputs {
            if last_reads[s.0] == Some(i) && !keep(s.0) {
                slots[s.0] = None;
            }
        }
    }
    let take = |slots: &mut Vec<Option<Image>>, s: usize| {
        slots
            .get_mut(s)
            .and_then(Option::take)
            .ok_or_else(|| CompositeError::Plan(format!("output slot {s} was never written")))
    };
    let rgba = if plan.output == plan.aux_output {
        slots.get(plan.output.0).cloned().flatten().ok_or_else(|| {
            CompositeError::Plan(format!("output slot {} was never written", plan.output.0))
        })?
    } else {
        take(&mut slots, plan.output.0)?
    };
    let aux = take(&mut slots, plan.aux_output.0)?;
    Ok(Rendered { rgba, aux })
}
