//! The wgpu executor: runs a render plan's ops as compute shaders.
//!
//! A `GpuRenderer` either creates its own device for headless work (`GpuRenderer::new`, the CLI
//! and the farm) or wraps an existing `wgpu::Device`/`Queue` (`GpuRenderer::from_device`, so the
//! app can share eframe's and draw the result in the viewer without a CPU copy). Pipelines are
//! built once per shader and kept; frame-sized textures are pooled by size and reused across
//! frames. Every slot is an `rgba32float` texture, read with `textureLoad` and written as a
//! storage texture; see `composite::ops` for the binding convention.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::image::Image;
use super::plan::Plan;
use super::{CompositeError, FrameInputs, Rendered, shaders};

/// Which adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuChoice {
    /// The best adapter the system offers (honours `WGPU_BACKEND`), else a software one.
    #[default]
    Auto,
    /// A software rasteriser (llvmpipe/lavapipe, WARP): the same on every machine.
    Software,
    /// The best adapter of one backend.
    Backend(wgpu::Backends),
}

impl std::str::FromStr for GpuChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => GpuChoice::Auto,
            "software" | "cpu-adapter" | "fallback" => GpuChoice::Software,
            "vulkan" => GpuChoice::Backend(wgpu::Backends::VULKAN),
            "gl" | "opengl" | "gles" => GpuChoice::Backend(wgpu::Backends::GL),
            "metal" => GpuChoice::Backend(wgpu::Backends::METAL),
            "dx12" => GpuChoice::Backend(wgpu::Backends::DX12),
            other => {
                return Err(format!(
                    "unknown adapter `{other}`: use auto, software, vulkan, gl, metal or dx12"
                ));
            }
        })
    }
}

struct OpPipeline {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

/// Runs render plans on a wgpu device.
pub struct GpuRenderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<&'static str, Arc<OpPipeline>>>,
    pool: Mutex<Vec<wgpu::Texture>>,
    uncaptured: Arc<Mutex<Option<String>>>,
}

/// A frame rendered on the GPU, still in GPU memory.
pub struct GpuFrame {
    /// The composite (premultiplied linear RGBA).
    pub rgba: wgpu::Texture,
    /// `(distance_m, matte, nearness, disoccluded)`.
    pub aux: wgpu::Texture,
}

impl std::fmt::Debug for GpuRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuRenderer")
            .field("adapter", &self.adapter_label())
            .finish()
    }
}

const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba32Float;
const WORKGROUP: u32 = 8;

impl GpuRenderer {
    /// Creates a renderer on its own device, for headless rendering.
    pub fn new(choice: GpuChoice) -> Result<GpuRenderer, CompositeError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if let GpuChoice::Backend(backends) = choice {
            desc.backends = backends;
        }
        let instance = wgpu::Instance::new(desc);
        let request = |force_fallback_adapter: bool| {
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter,
                compatible_surface: None,
                apply_limit_buckets: false,
            }))
        };
        let adapter = match choice {
            GpuChoice::Software => request(true),
            GpuChoice::Auto => request(false).or_else(|_| request(true)),
            GpuChoice::Backend(_) => request(false),
        }
        .map_err(|e| {
            CompositeError::NoAdapter(format!(
                "{e} (asked for {choice:?}; on Linux without a GPU, install Mesa's software \
                 drivers: apt-get install mesa-vulkan-drivers libvulkan1, or use --renderer cpu)"
            ))
        })?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("mattebox compositor"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| CompositeError::NoAdapter(format!("{}: {e}", info.name)))?;
        Ok(GpuRenderer::from_device(device, queue, info))
    }

    /// Wraps a device that someone else owns (eframe's), leaving its error handler alone: the
    /// renderer's own work is checked with error scopes.
    pub fn from_shared_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> GpuRenderer {
        GpuRenderer {
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
            pool: Mutex::new(Vec::new()),
            uncaptured: Arc::new(Mutex::new(None)),
        }
    }

    /// Wraps an existing device, so the renderer shares it, and catches the device's uncaptured
    /// errors (instead of wgpu's default, which panics).
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> GpuRenderer {
        let renderer = GpuRenderer::from_shared_device(device, queue, info);
        let sink = Arc::clone(&renderer.uncaptured);
        renderer
            .device
            .on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                if let Ok(mut slot) = sink.lock() {
                    slot.get_or_insert_with(|| e.to_string());
                }
            }));
        renderer
    }

    /// The adapter in use, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)`.
    pub fn adapter_label(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// The adapter's description.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Is the adapter a software rasteriser?
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The device (for callers drawing the result, e.g. the app's viewer).
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Compiles every shader now, so a broken one is reported before any frame (otherwise each
    /// op's pipeline is built on first use).
    pub fn warm_up(&self) -> Result<(), CompositeError> {
        for name in shaders::names().filter(|n| shaders::is_entry(n)) {
            self.compile(name)?;
        }
        Ok(())
    }

    /// Compiles one shader (includes resolved), reporting the device's validation error.
    fn compile(&self, name: &str) -> Result<wgpu::ShaderModule, CompositeError> {
        let source = shaders::source(name)?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(CompositeError::Shader {
                name: name.to_string(),
                message: e.to_string(),
            }),
            None => Ok(module),
        }
    }

    fn pipeline(
        &self,
        name: &'static str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Arc<OpPipeline>, CompositeError> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| CompositeError::Gpu("pipeline cache poisoned".into()))?;
        if let Some(p) = cache.get(name) {
            return Ok(Arc::clone(p));
        }
        let module = self.compile(name)?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        for i in 0..inputs {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: 1 + i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            });
        }
        for i in 0..outputs {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding: 1 + (inputs + i) as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::StorageTexture {
                    access: wgpu::StorageTextureAccess::WriteOnly,
                    format: FORMAT,
                    view_dimension: wgpu::TextureViewDimension::D2,
                },
                count: None,
            });
        }
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(name),
                entries: &entries,
            });
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(CompositeError::Shader {
                name: name.to_string(),
                message: e.to_string(),
            });
        }
        let op = Arc::new(OpPipeline { layout, pipeline });
        cache.insert(name, Arc::clone(&op));
        Ok(op)
    }

    fn texture(&self, width: u32, height: u32) -> wgpu::Texture {
        if let Ok(mut pool) = self.pool.lock()
            && let Some(i) = pool
                .iter()
                .position(|t| t.width() == width && t.height() == height)
        {
            return pool.swap_remove(i);
        }
        self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mattebox slot"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        })
    }

    /// Returns a texture to the pool for the next frame.
    pub fn recycle(&self, texture: wgpu::Texture) {
        if let Ok(mut pool) = self.pool.lock() {
            // Keep the pool bounded: a change of frame size must not hoard old textures.
            if pool.len() >= 32 {
                pool.remove(0);
            }
            pool.push(texture);
        }
    }

    /// Uploads an image into a pooled texture.
    pub fn upload(&self, image: &Image) -> wgpu::Texture {
        let texture = self.texture(image.width, image.height);
        write_texture(&self.queue, &texture, image.as_bytes(), 16);
        texture
    }

    fn take_uncaptured(&self) -> Option<String> {
        self.uncaptured.lock().ok().and_then(|mut e| e.take())
    }

    /// Uploads the frame's inputs and records and submits the plan; the result stays on the GPU.
    pub fn execute(&self, plan: &Plan, inputs: &FrameInputs) -> Result<GpuFrame, CompositeError> {
        inputs.check(plan)?;
        let mut uploads = Vec::with_capacity(plan.inputs.len());
        for (slot, input) in &plan.inputs {
            let image = inputs
                .get(input)
                .ok_or_else(|| CompositeError::Plan(format!("missing frame input {input:?}")))?;
            uploads.push((*slot, image));
        }
        self.execute_with(
            plan,
            |slot| {
                uploads
                    .iter()
                    .find(|(s, _)| *s == slot)
                    .map(|(_, image)| self.upload(image))
            },
            true,
        )
    }

    /// Waits until the GPU has finished all submitted work.
    pub fn wait(&self) -> Result<(), CompositeError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| CompositeError::Gpu(e.to_string()))
    }

    /// Records and submits the plan with input textures supplied by `input_texture` (e.g. kept
    /// resident on the GPU between frames by the app). With `recycle_inputs`, input textures go
    /// back to the pool once read; without, they are left alone for the caller to reuse.
    pub fn execute_with(
        &self,
        plan: &Plan,
        input_texture: impl Fn(super::plan::Slot) -> Option<wgpu::Texture>,
        recycle_inputs: bool,
    ) -> Result<GpuFrame, CompositeError> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut slots: Vec<Option<wgpu::Texture>> = (0..plan.slot_count).map(|_| None).collect();
        for (slot, input) in &plan.inputs {
            let texture = input_texture(*slot).ok_or_else(|| {
                CompositeError::Plan(format!("no texture for frame input {input:?}"))
            })?;
            slots[slot.0] = Some(texture);
        }
        let last_reads = plan.last_reads();
        let is_input = |s: usize| plan.inputs.iter().any(|(slot, _)| slot.0 == s);
        let keep = |s: usize| {
            s == plan.output.0 || s == plan.aux_output.0 || (!recycle_inputs && is_input(s))
        };
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mattebox plan"),
            });
        let mut retired = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let op = self.pipeline(step.op.shader(), step.inputs.len(), step.outputs.len())?;
            let (out_w, out_h) = step
                .outputs
                .first()
                .map_or((plan.width, plan.height), |s| plan.size(*s));
            for s in &step.outputs {
                slots[s.0] = Some(self.texture(out_w, out_h));
            }
            let groups_x = out_w.div_ceil(WORKGROUP);
            let groups_y = out_h.div_ceil(WORKGROUP);
            let mut params = step.op.params();
            if params.is_empty() || params.len() % 16 != 0 {
                params.resize(params.len().div_ceil(16).max(1) * 16, 0);
            }
            let buffer = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(step.op.shader()),
                    contents: &params,
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let mut views = Vec::with_capacity(step.inputs.len() + step.outputs.len());
            for s in step.inputs.iter().chain(&step.outputs) {
                let texture = slots.get(s.0).and_then(|t| t.as_ref()).ok_or_else(|| {
                    CompositeError::Plan(format!(
                        "step {i} ({}) uses slot {} before it is written",
                        step.op.shader(),
                        s.0
                    ))
                })?;
                views.push(texture.create_view(&wgpu::TextureViewDescriptor::default()));
            }
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: buffer.as_entire_binding(),
            }];
            for (k, view) in views.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: 1 + k as u32,
                    resource: wgpu::BindingResource::TextureView(view),
                });
            }
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(step.op.shader()),
                layout: &op.layout,
                entries: &entries,
            });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(step.op.shader()),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&op.pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(groups_x, groups_y, 1);
            }
            // A slot no later step reads goes back to the pool once this submission is done.
            for s in &step.inputs {
                if last_reads[s.0] == Some(i)
                    && !keep(s.0)
                    && let Some(t) = slots[s.0].take()
                {
                    retired.push(t);
                }
            }
        }
        self.queue.submit([encoder.finish()]);
        let oom = pollster::block_on(oom.pop());
        let validation = pollster::block_on(scope.pop());
        if let Some(e) = oom.or(validation) {
            return Err(CompositeError::Gpu(e.to_string()));
        }
        if let Some(e) = self.take_uncaptured() {
            return Err(CompositeError::Gpu(e));
        }
        for t in retired {
            self.recycle(t);
        }
        let rgba = slots
            .get(plan.output.0)
            .cloned()
            .flatten()
            .ok_or_else(|| CompositeError::Plan("the output slot was never written".into()))?;
        let aux = slots
            .get(plan.aux_output.0)
            .cloned()
            .flatten()
            .ok_or_else(|| CompositeError::Plan("the aux slot was never written".into()))?;
        Ok(GpuFrame { rgba, aux })
    }

    /// Copies a texture back to the CPU.
    pub fn download(&self, texture: &wgpu::Texture) -> Result<Image, CompositeError> {
        let (width, height) = (texture.width(), texture.height());
        let row = width * 16;
        let padded =
            row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mattebox readback"),
            size: padded as u64 * height as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mattebox readback"),
            });
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        self.queue.submit([encoder.finish()]);
        let slice = buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| CompositeError::Gpu(e.to_string()))?;
        rx.recv()
            .map_err(|e| CompositeError::Gpu(e.to_string()))?
            .map_err(|e| CompositeError::Gpu(e.to_string()))?;
        let mut image = Image::new(width, height);
        {
            let data = slice
                .get_mapped_range()
                .map_err(|e| CompositeError::Gpu(e.to_string()))?;
            let out: &mut [u8] = bytemuck::cast_slice_mut(&mut image.pixels);
            for y in 0..height as usize {
                let src = &data[y * padded as usize..y * padded as usize + row as usize];
                out[y * row as usize..(y + 1) * row as usize].copy_from_slice(src);
            }
        }
        buffer.unmap();
        Ok(image)
    }

    /// Renders a plan and reads the result back: the GPU twin of `cpu::render`.
    pub fn render(&self, plan: &Plan, inputs: &FrameInputs) -> Result<Rendered, CompositeError> {
        let frame = self.execute(plan, inputs)?;
        let rgba = self.download(&frame.rgba)?;
        let aux = if plan.aux_output == plan.output {
            rgba.clone()
        } else {
            self.download(&frame.aux)?
        };
        self.recycle(frame.rgba);
        if plan.aux_output != plan.output {
            self.recycle(frame.aux);
        }
        Ok(Rendered { rgba, aux })
    }
}

/// Writes a whole 2D texture from tightly packed rows of `bytes_per_texel` (16 for
/// rgba32float, 8 for rgba16float).
pub fn write_texture(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    bytes: &[u8],
    bytes_per_texel: u32,
) {
    let (width, height) = (texture.width(), texture.height());
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * bytes_per_texel),
            rows_per_image: Some(height),
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
}
