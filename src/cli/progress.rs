//! Progress for the long-running commands: a bar on a terminal, plain lines when piped, or one
//! JSON object per event with `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mattebox::process::Event;

/// Draws a job's events.
pub struct Reporter {
    json: bool,
    bar: Option<ProgressBar>,
    /// Prefix for plain lines and the JSON `phase` field, e.g. `passes`.
    phase: Option<&'static str>,
}

impl Reporter {
    /// A reporter: JSON lines, a bar on a terminal, or plain lines.
    pub fn new(json: bool) -> Reporter {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {prefix}{bar:32} {pos}/{len} frames {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter {
            json,
            bar,
            phase: None,
        }
    }

    /// Labels the following events with a phase (`passes`, `render`).
    pub fn set_phase(&mut self, phase: &'static str) {
        if self.phase != Some(phase) {
            self.phase = Some(phase);
            if let Some(bar) = &self.bar {
                bar.set_prefix(format!("{phase} "));
                bar.set_position(0);
            }
        }
    }

    /// A line of information.
    pub fn info(&self, line: String) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "event": "info", "message": line })
            );
        } else if let Some(bar) = &self.bar {
            bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Draws one event.
    pub fn event(&self, event: Event) {
        let phase = self.phase.unwrap_or("");
        if self.json {
            let mut value = match &event {
                Event::Started { total } => {
                    serde_json::json!({ "event": "started", "frames": total })
                }
                Event::Warning(w) => serde_json::json!({ "event": "warning", "message": w }),
                Event::FrameDone { label, seconds } => {
                    serde_json::json!({ "event": "frame_done", "frame": label, "seconds": seconds })
                }
                Event::FrameSkipped { label } => {
                    serde_json::json!({ "event": "frame_skipped", "frame": label })
                }
                Event::FrameFailed { label, error } => {
                    serde_json::json!({ "event": "frame_failed", "frame": label, "error": error })
                }
            };
            if let (Some(p), Some(obj)) = (self.phase, value.as_object_mut()) {
                obj.insert("phase".into(), p.into());
            }
            println!("{value}");
            return;
        }
        let tag = if phase.is_empty() {
            String::new()
        } else {
            format!("{phase}: ")
        };
        match (&self.bar, event) {
            (Some(bar), Event::Started { total }) => {
                bar.set_length(total as u64);
                bar.set_position(0);
            }
            (Some(bar), Event::Warning(w)) => bar.println(format!("warning: {w}")),
            (Some(bar), Event::FrameFailed { label, error }) => {
                bar.println(format!("{tag}failed: {label}: {error}"));
                bar.inc(1);
            }
            (Some(bar), Event::FrameDone { label, .. }) => {
                bar.set_message(label);
                bar.inc(1);
            }
            (Some(bar), Event::FrameSkipped { .. }) => bar.inc(1),
            (None, Event::Started { total }) => eprintln!("{tag}{total} frame(s)"),
            (None, Event::Warning(w)) => eprintln!("warning: {w}"),
            (None, Event::FrameDone { label, seconds }) => {
                eprintln!("{tag}done    {label} ({seconds:.2} s)")
            }
            (None, Event::FrameSkipped { label }) => {
                eprintln!("{tag}current {label} (skipped)")
            }
            (None, Event::FrameFailed { label, error }) => {
                eprintln!("{tag}failed  {label}: {error}")
            }
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
