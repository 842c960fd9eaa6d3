//! The viewer's GPU side, drawn through an `egui_wgpu::Callback` on eframe's device: the plate
//! and aux are uploaded once per frame; the composite comes from the compositor thread
//! (`render_worker`), is uploaded when it lands, and the last finished one keeps showing until
//! then; the display shader (`shaders/display.wgsl`) maps them to the screen. Nothing here waits
//! for a composite.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui_wgpu;
use eframe::wgpu;
use eframe::wgpu::util::DeviceExt;

use crate::composite::gpu::{GpuFrame, GpuRenderer};
use crate::composite::image::Image;
use crate::composite::plan::{Input, Plan};
use crate::composite::shaders;

use super::jobs::LoadedFrame;
use super::render_worker::{RenderRequest, RenderWorker};

/// The display shader's uniform block (`Display` in `display.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DisplayUniform {
    /// The viewer's top-left in framebuffer pixels.
    pub origin_px: [f32; 2],
    /// The viewer's size in pixels.
    pub size_px: [f32; 2],
    /// The image's top-left inside the viewer, in pixels.
    pub image_origin_px: [f32; 2],
    /// Screen pixels per image pixel.
    pub scale: f32,
    /// The view left of the wipe.
    pub view_a: u32,
    /// The view right of the wipe.
    pub view_b: u32,
    /// The wipe's x in viewer pixels.
    pub wipe_px: f32,
    /// 1 when depth and matte are available.
    pub has_aux: u32,
    /// 1 when the target encodes sRGB itself.
    pub srgb_target: u32,
}

/// GPU resources of the viewer, kept in egui-wgpu's `callback_resources`.
pub struct ViewerResources {
    gpu: GpuRenderer,
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
    srgb_target: bool,
    dummy: wgpu::Texture,
    inputs_key: Option<u64>,
    resident: HashMap<Input, wgpu::Texture>,
    result_key: Option<(u64, u64)>,
    requested_key: Option<(u64, u64)>,
    result: Option<(GpuFrame, bool, bool)>,
    /// The compositor thread.
    pub worker: RenderWorker,
    bind_group: Option<wgpu::BindGroup>,
    /// The last GPU error, shown in the status bar.
    pub last_error: Option<String>,
    /// Seconds the last composite took on the GPU (for the status bar).
    pub last_render_s: f64,
}

impl ViewerResources {
    /// Builds the display pipeline on eframe's device.
    pub fn new(
        render_state: &egui_wgpu::RenderState,
        worker: RenderWorker,
    ) -> Result<ViewerResources, String> {
        let device = render_state.device.clone();
        let queue = render_state.queue.clone();
        let info = render_state.adapter.get_info();
        let gpu = GpuRenderer::from_shared_device(device.clone(), queue, info);
        let source = shaders::source("display.wgsl").map_err(|e| e.to_string())?;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mattebox display"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mattebox display"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1),
                texture_entry(2),
                texture_entry(3),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mattebox display"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mattebox display"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                buffers: &[],
                compilation_options: Default::default(),
            },
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                targets: &[Some(wgpu::ColorTargetState {
                    format: render_state.target_format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
                compilation_options: Default::default(),
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        });
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mattebox display"),
            contents: bytemuck::bytes_of(&DisplayUniform::zeroed_default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let dummy = gpu.upload(&Image::new(1, 1));
        Ok(ViewerResources {
            gpu,
            pipeline,
            layout,
            uniform,
            srgb_target: render_state.target_format.is_srgb(),
            dummy,
            inputs_key: None,
            resident: HashMap::new(),
            result_key: None,
            requested_key: None,
            result: None,
            worker,
            bind_group: None,
            last_error: None,
            last_render_s: 0.0,
        })
    }

    /// The adapter the viewer draws with.
    pub fn adapter_label(&self) -> String {
        self.gpu.adapter_label()
    }

    /// Uploads what the display shader reads of a frame: the plate and the aux (the composite
    /// comes from the compositor thread).
    fn upload_inputs(&mut self, frame: &LoadedFrame) {
        for (_, t) in self.resident.drain() {
            self.gpu.recycle(t);
        }
        self.resident
            .insert(Input::Plate, self.gpu.upload(&frame.plate));
        if let Some(aux) = &frame.aux {
            self.resident.insert(Input::Aux, self.gpu.upload(aux));
        }
        self.inputs_key = Some(frame.key);
    }

    /// Is the composite on screen the last one asked for (nothing in flight)?
    pub fn current(&self) -> bool {
        self.result_key == self.requested_key && !self.worker.busy()
    }

    /// Takes the composites that have landed: the newest replaces the one on screen.
    fn take_results(&mut self) {
        for done in self.worker.poll() {
            self.last_render_s = done.seconds;
            match done.result {
                Ok(rendered) => {
                    self.drop_result();
                    let rgba = self.gpu.upload(&rendered.rgba);
                    let aux = self.gpu.upload(&rendered.aux);
                    self.result = Some((GpuFrame { rgba, aux }, true, true));
                    self.result_key = Some(done.key);
                    self.last_error = None;
                }
                Err(e) => self.last_error = Some(e),
            }
        }
    }

    fn drop_result(&mut self) {
        if let Some((frame, rgba_owned, aux_owned)) = self.result.take() {
            if rgba_owned {
                self.gpu.recycle(frame.rgba);
            }
            if aux_owned {
                self.gpu.recycle(frame.aux);
            }
        }
        self.result_key = None;
    }
}

impl DisplayUniform {
    fn zeroed_default() -> DisplayUniform {
        DisplayUniform {
            origin_px: [0.0; 2],
            size_px: [1.0; 2],
            image_origin_px: [0.0; 2],
            scale: 1.0,
            view_a: 0,
            view_b: 0,
            wipe_px: 1e9,
            has_aux: 0,
            srgb_target: 0,
        }
    }
}

/// One paint of the viewer.
pub struct ViewerPaint {
    /// The frame's inputs.
    pub frame: Arc<LoadedFrame>,
    /// The composite's plan (None when the frame has no passes yet).
    pub plan: Option<Arc<Plan>>,
    /// Identifies the plan's content (layers, scene, pose, solo).
    pub plan_key: u64,
    /// The display settings (origin filled in from the rect at prepare time).
    pub display: DisplayUniform,
    /// The viewer's rectangle in points.
    pub rect: egui::Rect,
}

impl egui_wgpu::CallbackTrait for ViewerPaint {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<ViewerResources>() else {
            return Vec::new();
        };
        if res.inputs_key != Some(self.frame.key) {
            // The last composite stays on screen until this frame's lands.
            res.upload_inputs(&self.frame);
        }
        res.take_results();
        if let Some(plan) = &self.plan {
            let key = (self.frame.key, self.plan_key);
            if res.result_key != Some(key) && res.requested_key != Some(key) {
                res.worker.request(RenderRequest {
                    key,
                    frame: Arc::clone(&self.frame),
                    plan: Arc::clone(plan),
                });
                res.requested_key = Some(key);
            }
        }
        let ppp = screen.pixels_per_point;
        let mut display = self.display;
        display.origin_px = [self.rect.min.x * ppp, self.rect.min.y * ppp];
        display.size_px = [self.rect.width() * ppp, self.rect.height() * ppp];
        display.srgb_target = u32::from(res.srgb_target);
        queue.write_buffer(&res.uniform, 0, bytemuck::bytes_of(&display));
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let plate = res.resident.get(&Input::Plate).unwrap_or(&res.dummy);
        let aux = res.resident.get(&Input::Aux).unwrap_or(&res.dummy);
        let composite = res.result.as_ref().map_or(plate, |(f, _, _)| &f.rgba);
        let (composite, plate, aux) = (view(composite), view(plate), view(aux));
        res.bind_group = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mattebox display"),
            layout: &res.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: res.uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&composite),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&plate),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&aux),
                },
            ],
        }));
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<ViewerResources>() else {
            return;
        };
        let Some(bind_group) = &res.bind_group else {
            return;
        };
        render_pass.set_pipeline(&res.pipeline);
        render_pass.set_bind_group(0, bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}
