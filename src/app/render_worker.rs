//! The viewer's compositor thread: the UI never waits for a composite.
//!
//! The UI thread hands the worker the frame it wants drawn (`request`); the worker composites it
//! on its own renderer and sends the result back, waking the UI, which uploads it and keeps
//! showing the last finished image (with a "rendering" indicator) until then. **The latest
//! request wins**: there is one pending slot, so edits made while a composite is in flight
//! replace the request that waits, and are never queued up behind it.
//!
//! Why a thread with its own renderer rather than eframe's device: on a software adapter
//! (llvmpipe, what students' laptops without a usable GPU and this project's CI have), a
//! compute submission runs on the same CPU queue that presents the window, so a composite on
//! eframe's device stalls every repaint behind it; and there the CPU twin of the plan is several
//! times faster than the rasterizer (benches/composite.rs). So the worker renders with the CPU
//! reference on a software adapter, and on its own wgpu device on a real GPU (one queue of its
//! own, the result read back), the same plan either way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::composite::gpu::{GpuChoice, GpuRenderer};
use crate::composite::plan::Plan;
use crate::composite::{FrameInputs, Rendered, cpu};

use super::jobs::LoadedFrame;

/// What to composite: a frame's inputs and its plan, identified by `key`.
#[derive(Clone)]
pub struct RenderRequest {
    /// `(frame key, plan key)`: what the viewer compares to know a result is current.
    pub key: (u64, u64),
    /// The frame's inputs (already at the preview's size).
    pub frame: Arc<LoadedFrame>,
    /// The plan to run.
    pub plan: Arc<Plan>,
}

/// A finished composite.
pub struct RenderDone {
    /// The request's key.
    pub key: (u64, u64),
    /// The composite and aux, or what went wrong.
    pub result: Result<Rendered, String>,
    /// Seconds the composite took.
    pub seconds: f64,
}

#[derive(Default)]
struct Pending {
    request: Option<RenderRequest>,
    stop: bool,
}

/// The compositor thread and its two channels: one pending request in, results out.
pub struct RenderWorker {
    pending: Arc<(Mutex<Pending>, Condvar)>,
    done: Receiver<RenderDone>,
    busy: Arc<AtomicBool>,
    renders: Arc<AtomicU64>,
    /// What renders (for the status bar).
    pub label: String,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RenderWorker {
    /// Starts the thread. `software`: the window's adapter is a software rasterizer (the worker
    /// then composites on the CPU). `delay_ms` is added to every composite, read each time
    /// (tests use it to prove the UI does not wait). `wake` is called when a result is ready.
    pub fn start(
        software: bool,
        delay_ms: Arc<AtomicU64>,
        wake: impl Fn() + Send + 'static,
    ) -> RenderWorker {
        let pending: Arc<(Mutex<Pending>, Condvar)> = Arc::default();
        let (tx, done) = unbounded();
        let busy = Arc::new(AtomicBool::new(false));
        let renders = Arc::new(AtomicU64::new(0));
        let gpu = match std::env::var("MATTEBOX_PREVIEW_RENDERER").as_deref() {
            Ok("cpu") => None,
            Ok("gpu") => GpuRenderer::new(GpuChoice::Auto).ok(),
            _ if software => None,
            _ => GpuRenderer::new(GpuChoice::Auto)
                .ok()
                .filter(|g| !g.is_software()),
        };
        let label = match &gpu {
            Some(g) => format!("preview on {}", g.adapter_label()),
            None => format!(
                "preview on the CPU ({} threads)",
                rayon::current_num_threads()
            ),
        };
        let thread = {
            let pending = Arc::clone(&pending);
            let busy = Arc::clone(&busy);
            let renders = Arc::clone(&renders);
            std::thread::Builder::new()
                .name("mattebox compositor".into())
                .spawn(move || run(&pending, &tx, &busy, &renders, gpu, &delay_ms, wake))
                .ok()
        };
        RenderWorker {
            pending,
            done,
            busy,
            renders,
            label,
            thread,
        }
    }

    /// Asks for a composite; a request still waiting is replaced (the latest wins).
    pub fn request(&self, request: RenderRequest) {
        let (lock, cvar) = &*self.pending;
        if let Ok(mut p) = lock.lock() {
            p.request = Some(request);
            self.busy.store(true, Ordering::Release);
            cvar.notify_one();
        }
    }

    /// The results that have arrived since the last call, oldest first.
    pub fn poll(&self) -> Vec<RenderDone> {
        self.done.try_iter().collect()
    }

    /// Is a composite in flight or waiting?
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// How many composites the worker has finished (tests check that stale requests were
    /// dropped rather than rendered).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Acquire)
    }
}

impl Drop for RenderWorker {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.pending;
        if let Ok(mut p) = lock.lock() {
            p.stop = true;
            cvar.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    pending: &(Mutex<Pending>, Condvar),
    tx: &Sender<RenderDone>,
    busy: &AtomicBool,
    renders: &AtomicU64,
    gpu: Option<GpuRenderer>,
    delay_ms: &AtomicU64,
    wake: impl Fn(),
) {
    let (lock, cvar) = pending;
    loop {
        let request = {
            let Ok(mut p) = lock.lock() else { return };
            loop {
                if p.stop {
                    return;
                }
                if let Some(r) = p.request.take() {
                    break r;
                }
                busy.store(false, Ordering::Release);
                p = match cvar.wait(p) {
                    Ok(p) => p,
                    Err(_) => return,
                };
            }
        };
        let started = Instant::now();
        let delay = delay_ms.load(Ordering::Acquire);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        let inputs = inputs_of(&request.frame, &request.plan);
        let result = match &gpu {
            Some(g) => g.render(&request.plan, &inputs),
            None => cpu::render(&request.plan, &inputs),
        }
        .map_err(|e| e.to_string());
        renders.fetch_add(1, Ordering::AcqRel);
        let done = RenderDone {
            key: request.key,
            result,
            seconds: started.elapsed().as_secs_f64(),
        };
        if tx.send(done).is_err() {
            return;
        }
        wake();
    }
}

/// The plan's inputs from a loaded frame (copies at the preview's size), background pictures
/// in the plan's order.
fn inputs_of(frame: &LoadedFrame, plan: &Plan) -> FrameInputs {
    FrameInputs {
        plate: Some(frame.plate.clone()),
        aux: frame.aux.clone(),
        front: frame.prepared.as_ref().map(|p| p.front.clone()),
        fill: frame.prepared.as_ref().map(|p| p.fill.clone()),
        images: plan
            .images
            .iter()
            .filter_map(|path| {
                frame
                    .images
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, i)| i.clone())
            })
            .collect(),
        ..Default::default()
    }
}
