//! (being written) The wgpu executor.
