//! Mattebox: AI-assisted VFX and pre-visualisation.
//!
//! The library is the headless core: everything here works with no window. The `mattebox`
//! binary's command line and (with the `gui` feature) the desktop app call these modules.
//! See `ARCHITECTURE.md` for what each module owns and how a frame flows from file to export.

#[cfg(feature = "gui")]
pub mod app;
pub mod composite;
pub mod export;
pub mod farm;
pub mod infer;
pub mod passes;
pub mod process;
pub mod project;
pub mod render;
pub mod shot;

/// The software name and version recorded in every export.
pub const SOFTWARE: &str = concat!("Mattebox ", env!("CARGO_PKG_VERSION"));
