//! Benchmark of the app's interactive loop (issue 8), driven as a user would through
//! egui_kittest on the wgpu renderer (llvmpipe here), on a shot of 24 frames at 1280×720 made
//! from the sample shot's real photos, with real depth and matte passes (fastdepth, u2netp) and
//! the template's five-layer stack:
//!
//! - **first play**: frames/s while every frame is composited once into the RAM preview;
//! - **cached play**: frames/s of the next plays (the shot's fps is the goal), and that no
//!   composite was rendered again;
//! - **response**: the time from a key press (Right) or a slider drag step to the window frame
//!   that shows it, while a full composite is in flight, and from the drag step to the first
//!   draft composite on screen;
//! - **memory**: peak RSS after repeated plays and scrubs, with the RAM preview's budget.
//!
//! `cargo bench --bench app` (MATTEBOX_BENCH_PLAYS=N plays after the first, default 3;
//! MATTEBOX_RAM_PREVIEW_MB sets the cache budget as in the app).

#[cfg(feature = "gui")]
mod bench {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result, bail};
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use mattebox::app::MatteboxApp;
    use mattebox::app::state::Action;

    const FRAMES: usize = 24;
    const SIZE: (u32, u32) = (1280, 720);

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// 24 frames of 1280×720 from the sample shot's six photos.
    fn make_shot(dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        let sources: Vec<PathBuf> = (1001..=1006)
            .map(|n| repo().join(format!("assets/sample_shot/astronaut.{n}.png")))
            .collect();
        let mut decoded = Vec::new();
        for s in &sources {
            let img = image::open(s).with_context(|| format!("reading {}", s.display()))?;
            decoded.push(img.resize_to_fill(SIZE.0, SIZE.1, image::imageops::FilterType::Lanczos3));
        }
        for i in 0..FRAMES {
            let out = dir.join(format!("plate.{}.png", 1001 + i));
            decoded[i % decoded.len()]
                .to_rgb8()
                .save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
        }
        Ok(())
    }

    /// A memory figure of this process from /proc/self/status (`VmRSS`, `VmHWM`), in MB.
    fn status_mb(field: &str) -> f64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// One window frame: the UI's update, then a render (which runs the viewer's callbacks).
    fn tick(h: &mut Harness<'static, MatteboxApp>) -> Result<()> {
        h.step();
        h.render().map_err(|e| anyhow::anyhow!("render: {e}"))?;
        Ok(())
    }

    /// Ticks until `done`, at most `limit`.
    fn until(
        h: &mut Harness<'static, MatteboxApp>,
        what: &str,
        limit: Duration,
        done: impl Fn(&MatteboxApp) -> bool,
    ) -> Result<Duration> {
        let start = Instant::now();
        while !done(h.state()) {
            if start.elapsed() > limit {
                bail!("timed out after {limit:?} waiting for {what}");
            }
            tick(h)?;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(start.elapsed())
    }

    /// When the app next asked to be repainted (what eframe's event loop waits for), set by
    /// the context's repaint callback: the app's own delayed requests, and the loader's and the
    /// compositor's wakes from their threads.
    type NextRepaint = std::sync::Arc<std::sync::Mutex<Option<Instant>>>;

    fn watch_repaints(h: &Harness<'static, MatteboxApp>) -> NextRepaint {
        let next: NextRepaint = Default::default();
        let n = std::sync::Arc::clone(&next);
        h.ctx.set_request_repaint_callback(move |info| {
            let at = Instant::now() + info.delay;
            if let Ok(mut g) = n.lock() {
                *g = Some(g.map_or(at, |t| t.min(at)));
            }
        });
        next
    }

    /// One window frame when eframe would draw it: once a repaint is due (at most 1 s later,
    /// should nothing ask).
    fn tick_when_due(h: &mut Harness<'static, MatteboxApp>, next: &NextRepaint) -> Result<()> {
        let start = Instant::now();
        loop {
            let due = next.lock().ok().and_then(|g| *g);
            if due.is_some_and(|t| t <= Instant::now()) || start.elapsed() > Duration::from_secs(1)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Ok(mut g) = next.lock() {
            *g = None;
        }
        tick(h)
    }

    /// Plays once round the shot from frame 0, repainting when the app asks as eframe does;
    /// returns (seconds, frames shown).
    fn play_round(
        h: &mut Harness<'static, MatteboxApp>,
        next: &NextRepaint,
    ) -> Result<(f64, usize)> {
        h.state_mut().act(Action::First);
        until(h, "frame 0", Duration::from_secs(60), |a| {
            a.state.frame == 0
        })?;
        h.state_mut().act(Action::TogglePlay);
        let start = Instant::now();
        let mut shown = 1;
        let mut last = 0;
        loop {
            tick_when_due(h, next)?;
            let f = h.state().state.frame;
            if f != last {
                shown += 1;
                last = f;
                if f == 0 {
                    break;
                }
            }
            if start.elapsed() > Duration::from_secs(600) {
                bail!("a play did not come round in 10 minutes");
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        h.state_mut().act(Action::TogglePlay);
        Ok((seconds, shown - 1))
    }

    pub fn main() -> Result<()> {
        let scratch = tempfile::tempdir()?;
        let root = scratch.path();
        for (var, sub) in [
            ("MATTEBOX_WORK_DIR", "work"),
            ("MATTEBOX_CONFIG_DIR", "config"),
            ("MATTEBOX_CACHE_DIR", "cache"),
        ] {
            std::fs::create_dir_all(root.join(sub))?;
            // SAFETY: set before any other thread of this process starts.
            unsafe { std::env::set_var(var, root.join(sub)) };
        }
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = root.join("xdg");
            std::fs::create_dir_all(&dir)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
            // SAFETY: as above.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
        let plays: usize = std::env::var("MATTEBOX_BENCH_PLAYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        let shot = root.join("shot");
        make_shot(&shot)?;
        let rss_start = status_mb("VmRSS:");

        let initial = Some(shot.clone());
        // The renderer options the app's window gets from eframe (dithering on, the texture
        // unit's filtering), not kittest's `PREDICTABLE`, which its snapshot tests need: the
        // frames measured are the ones a user's window draws.
        let eframe_options = eframe::egui_wgpu::RendererOptions {
            dithering: eframe::NativeOptions::default().dithering,
            ..Default::default()
        };
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .with_render_options(eframe_options)
            .wgpu()
            .build_eframe(move |cc| MatteboxApp::new(cc, initial));
        println!("adapter: {}", h.state().adapter);
        // The shot's passes run by themselves (real models), then the first frame settles.
        let passes = until(&mut h, "the passes", Duration::from_secs(900), |a| {
            a.passes.is_none() && a.loaded_frame().is_some_and(|f| f.aux.is_some())
        })?;
        println!(
            "passes for {FRAMES} frames of {}x{}: {:.1} s",
            SIZE.0,
            SIZE.1,
            passes.as_secs_f64()
        );
        until(
            &mut h,
            "the first composite",
            Duration::from_secs(120),
            |a| a.composite_current,
        )?;
        let preview = h
            .state()
            .loaded_frame()
            .map(|f| (f.plate.width, f.plate.height))
            .unwrap_or_default();
        let fps = h
            .state()
            .state
            .doc
            .as_ref()
            .map_or(24.0, |d| d.project.shot.fps);
        println!(
            "preview {}x{} (proxy {}), shot at {fps} fps, RAM preview budget {} MB",
            preview.0,
            preview.1,
            h.state().state.proxy.label(),
            h.state().cache_budget_mb
        );

        // An idle window frame: what the UI costs per repaint.
        let mut idle = Vec::new();
        let mut idle_update = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            h.step();
            idle_update.push(t.elapsed().as_secs_f64());
            h.render().map_err(|e| anyhow::anyhow!("render: {e}"))?;
            idle.push(t.elapsed().as_secs_f64());
        }
        idle.sort_by(f64::total_cmp);
        idle_update.sort_by(f64::total_cmp);

        // First play: every frame composited once (and rendered ahead) into the RAM preview.
        let next = watch_repaints(&h);
        let before = h.state().composites_rendered + h.state().composites_prefetched;
        let (s1, n1) = play_round(&mut h, &next)?;
        let first_renders =
            h.state().composites_rendered + h.state().composites_prefetched - before;
        // Later plays: from the RAM preview.
        let mut cached = Vec::new();
        let before = h.state().composites_rendered + h.state().composites_prefetched;
        for _ in 0..plays {
            let (s, n) = play_round(&mut h, &next)?;
            cached.push(n as f64 / s);
        }
        let cached_renders =
            h.state().composites_rendered + h.state().composites_prefetched - before;
        let cached_fps = cached.iter().sum::<f64>() / cached.len().max(1) as f64;

        // Response while a full composite is in flight: an edit invalidates the frame (the
        // compositor starts on it), then Right is pressed; the frame that handles it is timed.
        let mut key_ms = Vec::new();
        for i in 0..6 {
            h.state_mut()
                .act(Action::Solo(if i % 2 == 0 { Some(1) } else { None }));
            tick(&mut h)?;
            let t = Instant::now();
            let want = (h.state().state.frame + 1) % FRAMES;
            h.key_press(egui::Key::ArrowRight);
            tick(&mut h)?;
            if h.state().state.frame != want {
                bail!("a key press was lost");
            }
            key_ms.push(t.elapsed().as_secs_f64() * 1e3);
            h.state_mut().act(Action::Step(-1));
            until(&mut h, "the composite", Duration::from_secs(60), |a| {
                a.composite_current
            })?;
        }
        key_ms.sort_by(f64::total_cmp);

        // A slider drag (the selected layer's opacity) while a full composite is in flight:
        // the frame that shows the new value, and the first draft composite on screen.
        h.state_mut().act(Action::Solo(None));
        h.state_mut().act(Action::Select(Some(2)));
        tick(&mut h)?;
        tick(&mut h)?;
        until(&mut h, "the composite", Duration::from_secs(60), |a| {
            a.composite_current
        })?;
        let slider = h
            .get_by_role_and_label(egui::accesskit::Role::Slider, "opacity")
            .rect();
        let (y, x0) = (slider.center().y, slider.left() + 0.3 * slider.width());
        h.hover_at(egui::pos2(x0, y));
        tick(&mut h)?;
        h.drag_at(egui::pos2(x0, y));
        tick(&mut h)?;
        eprintln!("TRACE drag starts");
        let mut drag_ms = Vec::new();
        let mut draft_ms = Vec::new();
        for step in 1..=6 {
            let revision = h.state().state.revision;
            let drafts = h.state().composites_rendered;
            let t = Instant::now();
            h.hover_at(egui::pos2(x0 + 12.0 * step as f32, y));
            tick(&mut h)?;
            if h.state().state.revision == revision {
                bail!("the slider drag did not change the layer");
            }
            drag_ms.push(t.elapsed().as_secs_f64() * 1e3);
            until(&mut h, "a draft", Duration::from_secs(60), |a| {
                a.composites_rendered > drafts && !a.rendering
            })?;
            draft_ms.push(t.elapsed().as_secs_f64() * 1e3);
            eprintln!(
                "TRACE draft on screen {:.1} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        h.drop_at(egui::pos2(x0 + 72.0, y));
        let refine = until(&mut h, "the full composite", Duration::from_secs(60), |a| {
            a.composite_current && !a.drafting()
        })?;
        drag_ms.sort_by(f64::total_cmp);
        draft_ms.sort_by(f64::total_cmp);

        // Memory: scrub the whole shot back and forth and play again; the cache stays in budget.
        for _ in 0..2 {
            for _ in 0..FRAMES {
                h.key_press(egui::Key::ArrowRight);
                tick(&mut h)?;
            }
        }
        play_round(&mut h, &next)?;
        let stats = h
            .state()
            .cache
            .lock()
            .map(|c| c.stats())
            .unwrap_or_default();

        let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
        let max = |v: &[f64]| v.last().copied().unwrap_or(0.0);
        println!();
        println!("| measure | figure | goal |");
        println!("|---|---|---|");
        println!(
            "| idle window frame (update + render) | {:.1} ms median, of which update {:.1} ms | |",
            med(&idle) * 1e3,
            med(&idle_update) * 1e3
        );
        println!(
            "| first play (fills the RAM preview) | {:.2} frames/s, {n1} frames, {first_renders} composites | |",
            n1 as f64 / s1
        );
        println!(
            "| cached play ({plays} plays) | {cached_fps:.2} frames/s, {cached_renders} composites rendered | {fps} fps, 0 composites |"
        );
        println!(
            "| key press (Right) with a composite in flight | {:.1} ms median, {:.1} ms worst | < 100 ms |",
            med(&key_ms),
            max(&key_ms)
        );
        println!(
            "| slider drag step: frame showing the value | {:.1} ms median, {:.1} ms worst | < 100 ms |",
            med(&drag_ms),
            max(&drag_ms)
        );
        println!(
            "| slider drag step: first draft composite on screen | {:.1} ms median, {:.1} ms worst | < 100 ms |",
            med(&draft_ms),
            max(&draft_ms)
        );
        println!(
            "| drag released: full composite on screen | {:.0} ms | |",
            refine.as_secs_f64() * 1e3
        );
        println!(
            "| RAM preview after scrubs and plays | {} frames, {} MB of {} MB, {} evicted | within budget |",
            stats.frames,
            stats.bytes >> 20,
            stats.budget >> 20,
            stats.evicted
        );
        println!(
            "| process RSS | {:.0} MB at start, {:.0} MB now, {:.0} MB peak | bounded |",
            rss_start,
            status_mb("VmRSS:"),
            status_mb("VmHWM:")
        );
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    #[cfg(feature = "gui")]
    return bench::main();
    #[cfg(not(feature = "gui"))]
    {
        println!("the app benchmark needs the gui feature");
        Ok(())
    }
}
