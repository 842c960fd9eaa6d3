//! The CPU reference: executes a render plan op by op with each op's `run_cpu`.
//!
//! It is the check on the GPU path in tests and the fallback renderer (`--renderer cpu`) on
//! machines with no usable adapter (and on CPU farm nodes), so it is built for speed too: each
//! op is parallel over rows (rayon), frame inputs are read in place (never copied), and a slot
//! freed by the plan is reused for a later output of the same size, so a frame allocates only
//! its peak working set.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::image::Image;
use super::plan::Plan;
use super::{CompositeError, FrameInputs, Rendered};

/// Working images kept between frames, so a sequence of frames allocates (and page-faults)
/// its working set once. Bounded: at most [`POOL_MAX_BYTES`] of images are kept.
static POOL: Mutex<Vec<Image>> = Mutex::new(Vec::new());
/// The most memory [`POOL`] keeps (a 1080p frame's working set; a 4K frame keeps part of it).
const POOL_MAX_BYTES: usize = 384 << 20;

/// A working image of `w × h` from the pool, or a new one. Its pixels are stale: every op
/// writes every pixel of its outputs.
fn pooled(pool: &mut Vec<Image>, w: u32, h: u32) -> Image {
    match pool.iter().position(|im| im.width == w && im.height == h) {
        Some(k) => pool.swap_remove(k),
        None => Image::new(w, h),
    }
}

/// The CPU time this process has used (seconds), for the per-op profile: unlike the wall
/// clock, it holds steady while other programs share the machine.
fn process_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to write.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    if rc == 0 {
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    } else {
        0.0
    }
}

/// Renders a plan on the CPU.
pub fn render(plan: &Plan, inputs: &FrameInputs) -> Result<Rendered, CompositeError> {
    render_cancellable(plan, inputs, None)
}

/// Renders a plan on the CPU, stopping between two ops once `cancel` is set (the app's
/// compositor drops a composite that a newer request has made stale): the result is then
/// [`CompositeError::Cancelled`], and the working images go back to the pool.
pub fn render_cancellable(
    plan: &Plan,
    inputs: &FrameInputs,
    cancel: Option<&AtomicBool>,
) -> Result<Rendered, CompositeError> {
    inputs.check(plan)?;
    let mut slots: Vec<Option<Cow<'_, Image>>> = vec![None; plan.slot_count];
    for (slot, input) in &plan.inputs {
        if let (Some(s), Some(image)) = (slots.get_mut(slot.0), inputs.get(input)) {
            *s = Some(Cow::Borrowed(image));
        }
    }
    let last_reads = plan.last_reads();
    let keep = |s: usize| s == plan.output.0 || s == plan.aux_output.0;
    let mut pool: Vec<Image> = POOL
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    // MATTEBOX_PROFILE_OPS=1 prints each op's time (for the benchmark's per-op table).
    let profile = std::env::var_os("MATTEBOX_PROFILE_OPS").is_some();
    for (i, step) in plan.steps.iter().enumerate() {
        if cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
            keep_pool(pool, slots);
            return Err(CompositeError::Cancelled);
        }
        let started = std::time::Instant::now();
        let cpu_started = if profile { process_cpu_s() } else { 0.0 };
        let mut outputs: Vec<Image> = step
            .outputs
            .iter()
            .map(|s| {
                let (w, h) = plan.size(*s);
                pooled(&mut pool, w, h)
            })
            .collect();
        {
            let mut ins = Vec::with_capacity(step.inputs.len());
            for s in &step.inputs {
                let image = slots.get(s.0).and_then(|x| x.as_deref()).ok_or_else(|| {
                    CompositeError::Plan(format!(
                        "step {i} ({}) reads slot {} before it is written",
                        step.op.shader(),
                        s.0
                    ))
                })?;
                ins.push(image);
            }
            step.op.run_cpu_cancellable(&ins, &mut outputs, cancel);
        }
        // A long op stops part-way once cancelled: its outputs are incomplete.
        if cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
            pool.extend(outputs);
            keep_pool(pool, slots);
            return Err(CompositeError::Cancelled);
        }
        if profile {
            let (w, h) = step.outputs.first().map_or((0, 0), |s| plan.size(*s));
            eprintln!(
                "op {i:2} {:22} {w}x{h} {:6.1} ms {:6.1} cpu-ms",
                step.op.shader(),
                started.elapsed().as_secs_f64() * 1e3,
                (process_cpu_s() - cpu_started) * 1e3
            );
        }
        for (s, image) in step.outputs.iter().zip(outputs) {
            if let Some(slot) = slots.get_mut(s.0) {
                *slot = Some(Cow::Owned(image));
            }
        }
        // Free what no later step reads; its memory serves a later output.
        for s in &step.inputs {
            if last_reads[s.0] == Some(i)
                && !keep(s.0)
                && let Some(Cow::Owned(image)) = slots[s.0].take()
            {
                pool.push(image);
            }
        }
    }
    let mut take = |s: usize| {
        slots
            .get_mut(s)
            .and_then(Option::take)
            .map(Cow::into_owned)
            .ok_or_else(|| CompositeError::Plan(format!("output slot {s} was never written")))
    };
    let rgba = take(plan.output.0)?;
    let aux = if plan.aux_output == plan.output {
        rgba.clone()
    } else {
        take(plan.aux_output.0)?
    };
    keep_pool(pool, slots);
    Ok(Rendered { rgba, aux })
}

/// Hands the working images back to [`POOL`] for the next frame, within its bound: the pool's,
/// and those the frame's slots still own (the frame's inputs are only borrowed).
fn keep_pool(mut pool: Vec<Image>, slots: Vec<Option<Cow<'_, Image>>>) {
    for slot in slots.into_iter().flatten() {
        if let Cow::Owned(image) = slot {
            pool.push(image);
        }
    }
    let mut kept = 0usize;
    pool.retain(|im| {
        kept += im.pixels.len() * 16;
        kept <= POOL_MAX_BYTES
    });
    if let Ok(mut shared) = POOL.lock() {
        *shared = pool;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::{render, render_cancellable};
    use crate::composite::image::Image;
    use crate::composite::ops::stack::plan_blur;
    use crate::composite::plan::{Input, PlanBuilder};
    use crate::composite::{CompositeError, FrameInputs};

    #[test]
    fn a_cancelled_composite_stops_and_an_uncancelled_one_is_the_plain_render() {
        let plate = Image::from_fn(48, 32, |x, y| [x as f32 / 48.0, y as f32 / 32.0, 0.5, 1.0]);
        let mut b = PlanBuilder::new(48, 32);
        let input = b.input(Input::Plate);
        let blurred = plan_blur(&mut b, input, 4.0);
        let plan = b.finish(blurred, input);
        let inputs = FrameInputs {
            plate: Some(plate),
            ..Default::default()
        };
        let cancel = AtomicBool::new(true);
        assert!(matches!(
            render_cancellable(&plan, &inputs, Some(&cancel)),
            Err(CompositeError::Cancelled)
        ));
        cancel.store(false, Ordering::Release);
        let kept = render_cancellable(&plan, &inputs, Some(&cancel)).unwrap();
        let plain = render(&plan, &inputs).unwrap();
        assert_eq!(kept.rgba, plain.rgba);
        assert_eq!(kept.aux, plain.aux);
    }
}
