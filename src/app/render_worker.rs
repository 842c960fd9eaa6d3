//! The viewer's compositor thread: the UI never waits for a composite.
//!
//! The UI thread hands the worker the frame it wants drawn (`request`); the worker composites it
//! on its own renderer and sends the result back, waking the UI, which uploads it and keeps
//! showing the last finished image (with a "rendering" indicator) until then. **The latest
//! request wins**: there is one pending slot, so edits made while a composite is in flight
//! replace the request that waits, and are never queued up behind it.
//!
//! **Drafts.** While a slider, a key or another control is dragged, the request is a draft: the
//! worker composites the same stack at a quarter of the preview's size (the frame's inputs
//! reduced once per frame, the plan made again at that size), which takes a small fraction of
//! the time, and the viewer shows it enlarged until the full composite that follows the drag
//! lands.
//!
//! **The RAM preview.** Every full composite, with the frame's plate and aux, goes into the
//! shared [`FrameCache`] as half floats. While the shot plays, the UI also hands the worker the
//! frames ahead of the playhead that are not cached (`prefetch`); the worker renders them when no
//! request waits (a request always goes first), loading each frame itself, until the cache's
//! budget would force it to evict.
//!
//! Why a thread with its own renderer rather than eframe's device: on a software adapter
//! (llvmpipe, what students' laptops without a usable GPU and this project's CI have), a
//! compute submission runs on the same CPU queue that presents the window, so a composite on
//! eframe's device stalls every repaint behind it; and there the CPU twin of the plan is several
//! times faster than the rasterizer (benches/composite.rs). So the worker renders with the CPU
//! reference on a software adapter, and on its own wgpu device on a real GPU (one queue of its
//! own, the result read back), the same plan either way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::composite::frame_cache::{CacheKey, CachedFrame, FrameCache, HalfImage};
use crate::composite::gpu::{GpuChoice, GpuRenderer};
use crate::composite::plan::Plan;
use crate::composite::{CompositeError, FrameInputs, Rendered, cpu};

use super::jobs::{LoadRequest, LoadedFrame, PlanInputs, load};

/// A draft composites the frame reduced by this much in width and height.
pub const DRAFT_DIVISOR: u32 = 4;

/// What to composite: a frame's inputs and its plan, identified by `key`.
#[derive(Clone)]
pub struct RenderRequest {
    /// `(frame key, plan key, draft)`: what the viewer compares to know a result is current.
    pub key: RequestKey,
    /// The frame's inputs (already at the preview's size).
    pub frame: Arc<LoadedFrame>,
    /// The plan to run at the frame's size.
    pub plan: Arc<Plan>,
    /// What the plan was made from (a draft plans again at its reduced size).
    pub spec: Arc<PlanInputs>,
    /// Where the finished composite goes in the RAM preview (`None`: not cached).
    pub cache_key: Option<CacheKey>,
}

/// Identifies a request's result: `(frame key, plan key, draft)`.
pub type RequestKey = (u64, u64, bool);

/// A frame to render ahead of the playhead, into the RAM preview only.
#[derive(Clone)]
pub struct PrefetchItem {
    /// Its place in the cache.
    pub cache_key: CacheKey,
    /// How to load it.
    pub load: LoadRequest,
    /// What its plan is made from.
    pub spec: Arc<PlanInputs>,
}

/// A finished composite.
pub struct RenderDone {
    /// The request's key.
    pub key: RequestKey,
    /// The frame and its composite (half floats), or what went wrong.
    pub result: Result<Arc<CachedFrame>, String>,
    /// Seconds the composite took.
    pub seconds: f64,
}

#[derive(Default)]
struct Pending {
    request: Option<RenderRequest>,
    prefetch: VecDeque<PrefetchItem>,
    stop: bool,
    /// What the worker is composing now.
    in_flight: InFlight,
}

/// What the worker is composing now (a newer request cancels a stale one: see
/// [`RenderWorker::request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum InFlight {
    #[default]
    Nothing,
    Full,
    Draft,
    /// Rendering this frame ahead of the playhead.
    Ahead(CacheKey),
    /// Making the last frame's draft inputs and composing a first draft that nothing shows.
    Warming,
}

/// The compositor thread and its two channels: one pending request in, results out.
pub struct RenderWorker {
    pending: Arc<(Mutex<Pending>, Condvar)>,
    /// Set to stop the composite in flight between two ops (the CPU path).
    cancel: Arc<AtomicBool>,
    done: Receiver<RenderDone>,
    busy: Arc<AtomicBool>,
    renders: Arc<AtomicU64>,
    prefetched: Arc<AtomicU64>,
    /// The RAM preview the worker fills.
    pub cache: Arc<Mutex<FrameCache>>,
    /// The GPU the compositor thread renders on; `None`: the CPU.
    preview_gpu: Option<String>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux: per thread). The app's
/// background threads (the compositor and its pool, the frame loader, thumbnails, pass and
/// export jobs) run below the UI thread, so that on a busy 2-core machine a key press, a drag
/// or a repaint is never queued behind a composite: the UI, and a software rasterizer drawing
/// it, take the CPU first, and the background work takes the rest (issue 8).
pub fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its arguments; `0` is the calling thread on Linux.
        // A refusal (nothing to do) leaves the thread as it was.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// The niceness of the compositor and its rayon pool (see [`lower_priority`]).
pub const COMPOSITOR_NICE: i32 = 10;
/// The frame loader's: below the UI, above the compositor (the playhead's frame comes first).
pub const LOADER_NICE: i32 = 5;

/// What the thread owns.
struct Worker {
    /// Set by [`RenderWorker::request`] to stop the composite in flight.
    cancel: Arc<AtomicBool>,
    /// The CPU compositor's own rayon pool, of threads below the UI's priority (`None`: the
    /// global pool, when the pool could not be made).
    pool: Option<rayon::ThreadPool>,
    gpu: Option<GpuRenderer>,
    cache: Arc<Mutex<FrameCache>>,
    /// The last frame's inputs as half floats (an edit re-renders the same frame).
    halves: Option<(u64, HalfImage, Option<HalfImage>)>,
    /// The last frame's draft-sized inputs.
    draft: Option<(u64, Arc<LoadedFrame>)>,
    /// The frame of the last full composite and what its plan was made from: when the worker is
    /// next idle, it makes the frame's draft-sized inputs and composes a draft of it once, so
    /// that a drag's first draft waits neither for the inputs nor for its working images.
    draft_next: Option<(Arc<LoadedFrame>, Arc<PlanInputs>)>,
}

impl RenderWorker {
    /// Starts the thread. `software`: the window's adapter is a software rasterizer (the worker
    /// then composites on the CPU). `delay_ms` is added to every composite, read each time
    /// (tests use it to prove the UI does not wait). `wake` is called when a result is ready.
    pub fn start(
        software: bool,
        delay_ms: Arc<AtomicU64>,
        cache: Arc<Mutex<FrameCache>>,
        wake: impl Fn() + Send + 'static,
    ) -> RenderWorker {
        let pending: Arc<(Mutex<Pending>, Condvar)> = Arc::default();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, done) = unbounded();
        let busy = Arc::new(AtomicBool::new(false));
        let renders = Arc::new(AtomicU64::new(0));
        let prefetched = Arc::new(AtomicU64::new(0));
        let gpu = match std::env::var("MATTEBOX_PREVIEW_RENDERER").as_deref() {
            Ok("cpu") => None,
            Ok("gpu") => GpuRenderer::new(GpuChoice::Auto).ok(),
            _ if software => None,
            _ => GpuRenderer::new(GpuChoice::Auto)
                .ok()
                .filter(|g| !g.is_software()),
        };
        let preview_gpu = gpu.as_ref().map(|g| g.adapter_label());
        let thread = {
            let pending = Arc::clone(&pending);
            let busy = Arc::clone(&busy);
            let cancel = Arc::clone(&cancel);
            let counters = [Arc::clone(&renders), Arc::clone(&prefetched)];
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(rayon::current_num_threads())
                .thread_name(|i| format!("mattebox compositor {i}"))
                .start_handler(|_| lower_priority(COMPOSITOR_NICE))
                .build()
                .ok();
            let mut worker = Worker {
                cancel,
                pool,
                gpu,
                cache: Arc::clone(&cache),
                halves: None,
                draft: None,
                draft_next: None,
            };
            std::thread::Builder::new()
                .name("mattebox compositor".into())
                .spawn(move || {
                    lower_priority(COMPOSITOR_NICE);
                    worker.run(&pending, &tx, &busy, &counters, &delay_ms, wake)
                })
                .ok()
        };
        RenderWorker {
            pending,
            cancel,
            done,
            busy,
            renders,
            prefetched,
            cache,
            preview_gpu,
            thread,
        }
    }

    /// What renders, for the status bar (in the language in use).
    pub fn label(&self) -> String {
        preview_label(self.preview_gpu.as_deref())
    }

    /// The GPU the compositor thread renders on; `None`: the CPU.
    pub fn preview_gpu(&self) -> Option<&str> {
        self.preview_gpu.as_deref()
    }

    /// Asks for a composite; a request still waiting is replaced (the latest wins). A frame
    /// being rendered ahead is stopped for it (unless it is that frame), and a draft (a drag in
    /// progress) stops whatever is being drawn: none of them is what the artist waits for now.
    /// A full composite in flight is finished when the next full one is asked for, so that
    /// stepping through frames faster than they compose still shows some of them.
    pub fn request(&self, request: RenderRequest) {
        let (lock, cvar) = &*self.pending;
        if let Ok(mut p) = lock.lock() {
            let stale = match p.in_flight {
                InFlight::Nothing => false,
                // The playhead caught up with the frame being rendered ahead: it is the one
                // asked for, and the request finds it in the cache when it is done.
                InFlight::Ahead(key) => request.cache_key != Some(key),
                InFlight::Full | InFlight::Draft => request.key.2,
                InFlight::Warming => true,
            };
            if stale {
                self.cancel.store(true, Ordering::Release);
            }
            p.request = Some(request);
            self.busy.store(true, Ordering::Release);
            cvar.notify_one();
        }
    }

    /// Replaces the frames to render ahead (first first); an empty list stops rendering ahead.
    pub fn prefetch(&self, items: Vec<PrefetchItem>) {
        let (lock, cvar) = &*self.pending;
        if let Ok(mut p) = lock.lock() {
            p.prefetch = items.into();
            cvar.notify_one();
        }
    }

    /// How many frames still wait to be rendered ahead.
    pub fn prefetch_left(&self) -> usize {
        let (lock, _) = &*self.pending;
        lock.lock().map_or(0, |p| p.prefetch.len())
    }

    /// The results that have arrived since the last call, oldest first.
    pub fn poll(&self) -> Vec<RenderDone> {
        self.done.try_iter().collect()
    }

    /// Is a requested composite in flight or waiting?
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// How many requested composites the worker has finished (tests check that stale requests
    /// were dropped rather than rendered).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Acquire)
    }

    /// How many frames the worker has rendered ahead into the RAM preview.
    pub fn prefetched(&self) -> u64 {
        self.prefetched.load(Ordering::Acquire)
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

/// The next piece of work: a request, or a frame to render ahead.
enum Work {
    Request(RenderRequest),
    /// The draft-sized inputs of the frame last composited in full, and a first draft of it.
    DraftInputs(Arc<LoadedFrame>, Arc<PlanInputs>),
    Prefetch(PrefetchItem),
}

impl Worker {
    fn run(
        &mut self,
        pending: &(Mutex<Pending>, Condvar),
        tx: &Sender<RenderDone>,
        busy: &AtomicBool,
        [renders, prefetched]: &[Arc<AtomicU64>; 2],
        delay_ms: &AtomicU64,
        wake: impl Fn(),
    ) {
        let (lock, cvar) = pending;
        loop {
            let work = {
                let Ok(mut p) = lock.lock() else { return };
                p.in_flight = InFlight::Nothing;
                // Under the lock: a request from now on sees what is in flight.
                self.cancel.store(false, Ordering::Release);
                loop {
                    if p.stop {
                        return;
                    }
                    if let Some(r) = p.request.take() {
                        p.in_flight = if r.key.2 {
                            InFlight::Draft
                        } else {
                            InFlight::Full
                        };
                        break Work::Request(r);
                    }
                    busy.store(false, Ordering::Release);
                    // After the frames to render ahead (a play fills the RAM preview first).
                    if p.prefetch.is_empty()
                        && let Some((frame, spec)) = self.draft_next.take()
                        && self.draft.as_ref().is_none_or(|(key, _)| *key != frame.key)
                    {
                        p.in_flight = InFlight::Warming;
                        break Work::DraftInputs(frame, spec);
                    }
                    if let Some(item) = p.prefetch.pop_front() {
                        p.in_flight = InFlight::Ahead(item.cache_key);
                        break Work::Prefetch(item);
                    }
                    p = match cvar.wait(p) {
                        Ok(p) => p,
                        Err(_) => return,
                    };
                }
            };
            match work {
                Work::Request(request) => {
                    let started = Instant::now();
                    let delay = delay_ms.load(Ordering::Acquire);
                    if delay > 0 {
                        std::thread::sleep(Duration::from_millis(delay));
                    }
                    let result = match self.render_request(&request) {
                        // Cancelled for a newer request, which is waiting.
                        Err(None) => continue,
                        r => r.map_err(Option::unwrap_or_default),
                    };
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
                Work::DraftInputs(frame, spec) => {
                    if let Some(draft) = self.draft_inputs(&frame) {
                        // Nothing shows it: it leaves the draft-sized working images in the
                        // compositor's pool (a request stops it).
                        let (plan, _) = spec.plan(&draft);
                        let _ = self.composite(&plan, &draft);
                    }
                }
                Work::Prefetch(item) => match self.render_ahead(&item) {
                    Ahead::Cached => {
                        prefetched.fetch_add(1, Ordering::AcqRel);
                        wake();
                    }
                    Ahead::Skipped => {}
                    Ahead::Cancelled => {
                        // Stopped for a request: rendered ahead later, unless the list changes.
                        if let Ok(mut p) = lock.lock() {
                            p.prefetch.push_front(item);
                        }
                    }
                    Ahead::Full => {
                        // The budget is reached: rendering more would evict frames to be played.
                        if let Ok(mut p) = lock.lock() {
                            p.prefetch.clear();
                        }
                        wake();
                    }
                },
            }
        }
    }

    /// `frame`'s draft-sized inputs: the ones kept for it, else reduced now (on the
    /// compositor's own pool, below the UI's priority) and kept; `None` for a frame too small.
    fn draft_inputs(&mut self, frame: &LoadedFrame) -> Option<Arc<LoadedFrame>> {
        if let Some((key, draft)) = &self.draft
            && *key == frame.key
        {
            return Some(Arc::clone(draft));
        }
        let reduce = || frame.reduced(DRAFT_DIVISOR);
        let draft = Arc::new(match &self.pool {
            Some(pool) => pool.install(reduce),
            None => reduce(),
        }?);
        self.draft = Some((frame.key, Arc::clone(&draft)));
        Some(draft)
    }

    /// A composite of `frame`; `Err(None)`: cancelled for a newer request.
    fn composite(&self, plan: &Plan, frame: &LoadedFrame) -> Result<Rendered, Option<String>> {
        let inputs = inputs_of(frame, plan);
        let cancel = Some(&*self.cancel);
        match (&self.gpu, &self.pool) {
            (Some(g), _) => g.render(plan, &inputs),
            (None, Some(pool)) => pool.install(|| cpu::render_cancellable(plan, &inputs, cancel)),
            (None, None) => cpu::render_cancellable(plan, &inputs, cancel),
        }
        .map_err(|e| match e {
            CompositeError::Cancelled => None,
            e => Some(e.to_string()),
        })
    }

    /// The requested composite; `Err(None)`: cancelled for a newer request.
    fn render_request(
        &mut self,
        request: &RenderRequest,
    ) -> Result<Arc<CachedFrame>, Option<String>> {
        let frame = &request.frame;
        if request.key.2
            && let Some(draft) = self.draft_inputs(frame)
        {
            let (plan, _) = request.spec.plan(&draft);
            let rendered = self.composite(&plan, &draft)?;
            // A draft shows only its composite (the plate and aux stay the frame's own).
            return Ok(Arc::new(CachedFrame {
                plate: HalfImage::from_image(&crate::composite::image::Image::new(1, 1)),
                aux: None,
                composite: Some((
                    HalfImage::from_image(&rendered.rgba),
                    HalfImage::from_image(&rendered.aux),
                )),
                scale: draft.scale,
                full_size: draft.full_size,
            }));
        }
        if frame.error.is_none() && frame.aux.is_some() {
            self.draft_next = Some((Arc::clone(frame), Arc::clone(&request.spec)));
        }
        // Rendered ahead meanwhile (the playhead caught up with the render-ahead): no second
        // composite.
        if let Some(key) = request.cache_key
            && let Some(done) = self.cache.lock().ok().and_then(|mut c| c.get(&key))
        {
            return Ok(done);
        }
        let rendered = self.composite(&request.plan, frame)?;
        let cached = Arc::new(self.cached_frame(frame, &rendered));
        if let Some(key) = request.cache_key
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.insert(key, Arc::clone(&cached));
        }
        Ok(cached)
    }

    /// The frame and its composite as the RAM preview keeps them.
    fn cached_frame(&mut self, frame: &LoadedFrame, rendered: &Rendered) -> CachedFrame {
        let (plate, aux) = match &self.halves {
            Some((key, p, a)) if *key == frame.key => (p.clone(), a.clone()),
            _ => {
                let p = HalfImage::from_image(&frame.plate);
                let a = frame.aux.as_ref().map(HalfImage::from_image);
                self.halves = Some((frame.key, p.clone(), a.clone()));
                (p, a)
            }
        };
        CachedFrame {
            plate,
            aux,
            composite: Some((
                HalfImage::from_image(&rendered.rgba),
                HalfImage::from_image(&rendered.aux),
            )),
            scale: frame.scale,
            full_size: frame.full_size,
        }
    }

    fn render_ahead(&mut self, item: &PrefetchItem) -> Ahead {
        match self.cache.lock() {
            Ok(cache) => {
                if cache.contains(&item.cache_key) {
                    return Ahead::Skipped;
                }
                // Frames of one shot and proxy are of one size: the average entry predicts it.
                let s = cache.stats();
                if s.frames > 0 && !cache.has_room_for(s.bytes / s.frames) {
                    return Ahead::Full;
                }
            }
            Err(_) => return Ahead::Skipped,
        }
        let frame = load(&item.load);
        if frame.error.is_some() || frame.aux.is_none() {
            // Nothing to composite (no passes yet) or a broken frame: the playhead will say why.
            return Ahead::Skipped;
        }
        let (plan, _) = item.spec.plan(&frame);
        let rendered = match self.composite(&plan, &frame) {
            Ok(r) => r,
            Err(None) => return Ahead::Cancelled,
            Err(Some(_)) => return Ahead::Skipped,
        };
        let cached = Arc::new(self.cached_frame(&frame, &rendered));
        match self.cache.lock() {
            Ok(mut cache) if cache.has_room_for(cached.bytes()) => {
                cache.insert(item.cache_key, cached);
                Ahead::Cached
            }
            Ok(_) => Ahead::Full,
            Err(_) => Ahead::Skipped,
        }
    }
}

/// What rendering one frame ahead did.
enum Ahead {
    Cached,
    Skipped,
    Full,
    /// Stopped for a request.
    Cancelled,
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

/// The status bar's words for where the preview renders: on GPU `gpu`, else on the CPU.
pub fn preview_label(gpu: Option<&str>) -> String {
    match gpu {
        Some(adapter) => super::i18n::t!("preview-on", adapter = adapter),
        None => super::i18n::t!("preview-on-cpu", threads = rayon::current_num_threads()),
    }
}
