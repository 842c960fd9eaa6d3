//! The viewer's GPU side, drawn through an `egui_wgpu::Callback` on eframe's device: the plate
//! and aux are uploaded once per frame; the composite comes from the compositor thread
//! (`render_worker`), is uploaded when it lands, and the last finished one keeps showing until
//! then; a frame in the RAM preview (`composite::frame_cache`) is uploaded whole from the cache
//! and nothing is rendered; the display shader (`shaders/display.wgsl`) maps them to the screen
//! (a draft composite, smaller than the plate, is enlarged there). Nothing here waits for a
//! composite.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui_wgpu;
use eframe::wgpu;
use eframe::wgpu::util::DeviceExt;

use crate::composite::frame_cache::{CacheKey, CachedFrame, HalfImage};
use crate::composite::gpu::GpuRenderer;
use crate::composite::image::Image;
use crate::composite::plan::Input;
use crate::composite::shaders;

use super::jobs::LoadedFrame;
use super::render_worker::{RenderRequest, RenderWorker, RequestKey};

/// Where the textures on screen came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// A loaded frame's plate and aux (key: the frame's).
    Loaded(u64),
    /// A requested composite.
    Rendered(RequestKey),
    /// A frame of the RAM preview.
    Cached(CacheKey),
}

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
    /// Unused: the target's encoding is the shader's `SRGB_TARGET` constant.
    pub pad2: u32,
    /// Linear gain, `2^exposure_stops`.
    pub gain: f32,
    /// Display gamma.
    pub gamma: f32,
    /// `Transform::code`.
    pub transform: u32,
    /// `Channel::code`.
    pub channel: u32,
    /// Matte overlay opacity (0 off).
    pub overlay: f32,
    /// 1: zebra stripes over clipping pixels.
    pub zebra: u32,
    /// Padding to the uniform's 16-byte size.
    pub pad: [u32; 2],
    /// The working space to linear Rec.709, applied before the display transform: the columns
    /// of a 3x3 matrix, each padded to a `vec4` (identity for a linear Rec.709 working space).
    pub to_rec709: [[f32; 4]; 3],
}

impl DisplayUniform {
    /// The display settings' part of the uniform.
    pub fn with_settings(mut self, d: &super::state::DisplaySettings) -> DisplayUniform {
        self.gain = d.exposure_stops.exp2();
        self.gamma = d.gamma;
        self.transform = d.transform.code();
        self.channel = d.channel.code();
        self.overlay = d.matte_overlay;
        self.zebra = u32::from(d.zebra);
        self
    }

    /// The working space's part of the uniform: its matrix to linear Rec.709.
    pub fn with_working(mut self, working: crate::shot::WorkingSpace) -> DisplayUniform {
        let m = working.to_rec709().unwrap_or(glam::Mat3::IDENTITY);
        self.to_rec709 = [0, 1, 2].map(|c| {
            let col = m.col(c);
            [col.x, col.y, col.z, 0.0]
        });
        self
    }
}

/// GPU resources of the viewer, kept in egui-wgpu's `callback_resources`.
pub struct ViewerResources {
    gpu: GpuRenderer,
    pipeline: wgpu::RenderPipeline,
    /// `fs_plain`: the common case's shader (see [`plain_display`]).
    plain_pipeline: wgpu::RenderPipeline,
    /// Whether this frame draws with `plain_pipeline`.
    plain: bool,
    /// `screen_lut`'s table, and the (transform, sRGB target) it was made for.
    lut: wgpu::Texture,
    lut_key: Option<(u32, bool)>,
    /// `fs_plain`'s samplers: nearest (a full-size composite enlarged) and bilinear.
    nearest: wgpu::Sampler,
    bilinear: wgpu::Sampler,
    /// A half-float texel, bound as `fs_plain`'s picture when there is no composite.
    dummy_half: wgpu::Texture,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
    srgb_target: bool,
    dummy: wgpu::Texture,
    inputs_key: Option<Shown>,
    resident: HashMap<Input, wgpu::Texture>,
    /// The plate and aux of a cached frame (half floats).
    cached_inputs: [Option<wgpu::Texture>; 2],
    result_key: Option<Shown>,
    requested_key: Option<RequestKey>,
    /// The composite on screen (half floats; a draft is smaller than the plate).
    result: Option<wgpu::Texture>,
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
                texture_entry(4),
                wgpu::BindGroupLayoutEntry {
                    binding: 5,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 6,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        // `display.wgsl`'s override constant: the target's encoding, fixed for the window.
        let srgb_target = [(
            "SRGB_TARGET",
            f64::from(u8::from(render_state.target_format.is_srgb())),
        )];
        let pipeline = opaque_pipeline(
            render_state,
            &module,
            &layout,
            "fs_main",
            "mattebox display",
            &srgb_target,
        );
        let plain_pipeline = opaque_pipeline(
            render_state,
            &module,
            &layout,
            "fs_plain",
            "mattebox display",
            &srgb_target,
        );
        let lut = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mattebox screen table"),
            size: wgpu::Extent3d {
                width: SCREEN_LUT_SIZE as u32,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mattebox display"),
            contents: bytemuck::bytes_of(&DisplayUniform::default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let dummy = gpu.upload(&Image::new(1, 1));
        let sampler = |filter| {
            device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("mattebox display"),
                mag_filter: filter,
                min_filter: filter,
                ..Default::default()
            })
        };
        let (nearest, bilinear) = (
            sampler(wgpu::FilterMode::Nearest),
            sampler(wgpu::FilterMode::Linear),
        );
        let mut dummy_half = None;
        upload_half(
            &device,
            &render_state.queue,
            &mut dummy_half,
            &HalfImage::from_image(&Image::new(1, 1)),
        );
        let Some(dummy_half) = dummy_half else {
            return Err("the viewer could not make a texture".into());
        };
        Ok(ViewerResources {
            gpu,
            pipeline,
            plain_pipeline,
            plain: false,
            lut,
            lut_key: None,
            nearest,
            bilinear,
            dummy_half,
            layout,
            uniform,
            srgb_target: render_state.target_format.is_srgb(),
            dummy,
            inputs_key: None,
            resident: HashMap::new(),
            cached_inputs: [None, None],
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
        self.cached_inputs = [None, None];
        self.inputs_key = Some(Shown::Loaded(frame.key));
    }

    /// Uploads a frame of the RAM preview whole: plate, aux and composite.
    fn upload_cached(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        key: CacheKey,
        frame: &CachedFrame,
        display: &DisplayUniform,
    ) {
        // The composite alone is enough for the Composite view without the overlay (playback's
        // common case): the plate and aux are uploaded only when the display reads them, or when
        // the textures on hand are not of this frame's size (the shader takes the image's size
        // from the plate).
        let composite_only = display.view_a == 3
            && display.view_b == 3
            && display.channel < 6
            && display.overlay <= 0.0
            && frame.composite.is_some();
        let [plate_tex, _] = &self.cached_inputs;
        let sized = self.resident.is_empty()
            && plate_tex.as_ref().is_some_and(|t| {
                (t.width(), t.height()) == (frame.plate.width, frame.plate.height)
            });
        if self.inputs_key != Some(Shown::Cached(key)) && !(composite_only && sized) {
            for (_, t) in self.resident.drain() {
                self.gpu.recycle(t);
            }
            let [plate, aux] = &mut self.cached_inputs;
            upload_half(device, queue, plate, &frame.plate);
            match &frame.aux {
                Some(a) => upload_half(device, queue, aux, a),
                None => *aux = None,
            }
            self.inputs_key = Some(Shown::Cached(key));
        }
        if self.result_key != Some(Shown::Cached(key))
            && let Some((rgba, _)) = &frame.composite
        {
            upload_half(device, queue, &mut self.result, rgba);
            self.result_key = Some(Shown::Cached(key));
        }
    }

    /// The key of the requested composite on screen, if one is (not a cached frame).
    pub fn shown_request(&self) -> Option<RequestKey> {
        match self.result_key {
            Some(Shown::Rendered(k)) => Some(k),
            _ => None,
        }
    }

    /// Takes the composites that have landed: the newest replaces the one on screen.
    fn take_results(&mut self, device: &wgpu::Device, queue: &wgpu::Queue) {
        for done in self.worker.poll() {
            self.last_render_s = done.seconds;
            match done.result {
                Ok(frame) => {
                    if let Some((rgba, _)) = &frame.composite {
                        upload_half(device, queue, &mut self.result, rgba);
                        self.result_key = Some(Shown::Rendered(done.key));
                    }
                    self.last_error = None;
                }
                Err(e) => self.last_error = Some(e),
            }
        }
    }
}

/// Writes a half-float image into `slot`, making a texture of its size when needed.
fn upload_half(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    slot: &mut Option<wgpu::Texture>,
    image: &HalfImage,
) {
    let size = wgpu::Extent3d {
        width: image.width.max(1),
        height: image.height.max(1),
        depth_or_array_layers: 1,
    };
    let fits = slot
        .as_ref()
        .is_some_and(|t| t.width() == size.width && t.height() == size.height);
    if !fits {
        *slot = Some(device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mattebox viewer"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba16Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        }));
    }
    let Some(texture) = slot.as_ref() else { return };
    if image.data.len() < 4 * size.width as usize * size.height as usize {
        return;
    }
    crate::composite::gpu::write_texture(queue, texture, image.as_bytes(), 8);
}

impl Default for DisplayUniform {
    fn default() -> DisplayUniform {
        DisplayUniform {
            origin_px: [0.0; 2],
            size_px: [1.0; 2],
            image_origin_px: [0.0; 2],
            scale: 1.0,
            view_a: 0,
            view_b: 0,
            wipe_px: 1e9,
            has_aux: 0,
            pad2: 0,
            gain: 1.0,
            gamma: 1.0,
            transform: 0,
            channel: 0,
            overlay: 0.0,
            zebra: 0,
            pad: [0; 2],
            to_rec709: [
                [1.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
            ],
        }
    }
}

/// One paint of the viewer.
pub struct ViewerPaint {
    /// The loaded frame's inputs (the plate and aux shown when the frame is not cached).
    pub frame: Option<Arc<LoadedFrame>>,
    /// The frame from the RAM preview: shown whole, nothing is rendered.
    pub cached: Option<(CacheKey, Arc<CachedFrame>)>,
    /// The composite to ask for when the frame is not cached (None without passes).
    pub request: Option<RenderRequest>,
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
        res.take_results(device, queue);
        if let Some((key, cached)) = &self.cached {
            res.upload_cached(device, queue, *key, cached, &self.display);
        } else if let Some(frame) = &self.frame {
            if res.inputs_key != Some(Shown::Loaded(frame.key)) {
                // The last composite stays on screen until this frame's lands.
                res.upload_inputs(frame);
            }
            if let Some(request) = &self.request {
                let key = request.key;
                if res.result_key != Some(Shown::Rendered(key)) && res.requested_key != Some(key) {
                    res.worker.request(request.clone());
                    res.requested_key = Some(key);
                }
            }
        }
        let ppp = screen.pixels_per_point;
        let mut display = self.display;
        display.origin_px = [self.rect.min.x * ppp, self.rect.min.y * ppp];
        display.size_px = [self.rect.width() * ppp, self.rect.height() * ppp];
        queue.write_buffer(&res.uniform, 0, bytemuck::bytes_of(&display));
        res.plain = plain_display(&display) && res.result.is_some();
        let lut_key = (display.transform, res.srgb_target);
        if res.plain && res.lut_key != Some(lut_key) {
            let table = screen_lut(display.transform, res.srgb_target);
            crate::composite::gpu::write_texture(queue, &res.lut, bytemuck::cast_slice(&table), 4);
            res.lut_key = Some(lut_key);
        }
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let [cached_plate, cached_aux] = &res.cached_inputs;
        let plate = res
            .resident
            .get(&Input::Plate)
            .or(cached_plate.as_ref())
            .unwrap_or(&res.dummy);
        let aux = res
            .resident
            .get(&Input::Aux)
            .or(cached_aux.as_ref())
            .unwrap_or(&res.dummy);
        // `fs_plain`'s picture, and the filter that gives `fs_main`'s pixels: `fetch` loads the
        // texel when the viewer enlarges, and `colour_of` enlarges a draft bilinearly.
        let shown = res.result.as_ref().unwrap_or(&res.dummy_half);
        let full_size = (plate.width(), plate.height()) == (shown.width(), shown.height());
        let sampler = if display.scale >= 1.0 && full_size {
            &res.nearest
        } else {
            &res.bilinear
        };
        let composite = res.result.as_ref().unwrap_or(plate);
        let (composite, plate, aux) = (view(composite), view(plate), view(aux));
        let (lut_view, shown_view) = (view(&res.lut), view(shown));
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
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: wgpu::BindingResource::TextureView(&lut_view),
                },
                wgpu::BindGroupEntry {
                    binding: 5,
                    resource: wgpu::BindingResource::Sampler(sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: wgpu::BindingResource::TextureView(&shown_view),
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
        render_pass.set_pipeline(if res.plain {
            &res.plain_pipeline
        } else {
            &res.pipeline
        });
        render_pass.set_bind_group(0, bind_group, &[]);
        render_pass.draw(0..3, 0..1);
    }
}

/// The window's backdrop: the panels' background colour, drawn first in every window frame by
/// one opaque, untextured, unblended triangle per rectangle, while the panels' own fills are
/// transparent (`ui::draw` clears `panel_fill` for the frame). On a software rasterizer egui's
/// textured and blended panel fills were most of a window frame's cost (issue 8); the same
/// pixels drawn this way cost several times less. The viewer's rectangle is left out: the
/// display shader draws every pixel of it.
pub struct BackdropResources {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    srgb_target: bool,
}

impl BackdropResources {
    /// Builds the backdrop pipeline on eframe's device.
    pub fn new(render_state: &egui_wgpu::RenderState) -> Result<BackdropResources, String> {
        let device = &render_state.device;
        let source = shaders::source("backdrop.wgsl").map_err(|e| e.to_string())?;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mattebox backdrop"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mattebox backdrop"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let pipeline = opaque_pipeline(
            render_state,
            &module,
            &layout,
            "fs_main",
            "mattebox backdrop",
            &[],
        );
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mattebox backdrop"),
            contents: bytemuck::bytes_of(&[0.0f32; 4]),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mattebox backdrop"),
            layout: &layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform.as_entire_binding(),
            }],
        });
        Ok(BackdropResources {
            pipeline,
            bind_group,
            uniform,
            srgb_target: render_state.target_format.is_srgb(),
        })
    }
}

/// Entries of `screen_lut`'s table.
const SCREEN_LUT_SIZE: usize = 1024;

/// Whether the display shader's `fs_plain` draws this display as `fs_main` would (to within
/// its table's error, 1e-5; 2e-4 at the Rec.709 curve's own step at 0.018): the composite
/// alone, with no wipe line on screen; all channels; no matte overlay; no zebra; gamma 1.
/// Playback's and editing's common case. (The viewer also needs a composite on hand to draw it
/// so.)
pub fn plain_display(d: &DisplayUniform) -> bool {
    let one_view = d.view_a == 3 && d.view_b == 3;
    let no_wipe_line = d.wipe_px > d.size_px[0] + 1.0 || d.wipe_px < -1.0;
    one_view
        && no_wipe_line
        && d.channel == 0
        && (d.overlay <= 0.0 || d.has_aux == 0)
        && d.zebra == 0
        && (d.gamma - 1.0).abs() <= 1e-6
}

/// The table `fs_plain` reads (`screen_lut` in `display.wgsl`): entry `i` is the screen value
/// of the linear value `(i / (N − 1))²` (after the gain) by the transform `transform`
/// (`Transform::code`), as a target that encodes sRGB itself wants it when `srgb_target`: the
/// CPU twin of `to_screen` at gamma 1.
pub fn screen_lut(transform: u32, srgb_target: bool) -> Vec<f32> {
    use super::state::Transform;
    let t = match transform {
        0 => Transform::Srgb,
        1 => Transform::Rec709,
        _ => Transform::Raw,
    };
    let last = (SCREEN_LUT_SIZE - 1) as f64;
    (0..SCREEN_LUT_SIZE)
        .map(|i| {
            let r = i as f64 / last;
            let v = t.encode((r * r) as f32).clamp(0.0, 1.0);
            if srgb_target {
                crate::shot::colour::srgb_to_linear(v)
            } else {
                v
            }
        })
        .collect()
}

/// A pipeline drawing `vs_main` and the fragment entry `fragment` of `module` into eframe's
/// target without blending (it replaces what is there): the viewer's display transform and the
/// window's backdrop. `constants` sets the module's override constants.
fn opaque_pipeline(
    render_state: &egui_wgpu::RenderState,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    fragment: &str,
    label: &str,
    constants: &[(&str, f64)],
) -> wgpu::RenderPipeline {
    let device = &render_state.device;
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            buffers: &[],
            compilation_options: Default::default(),
        },
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fragment),
            targets: &[Some(wgpu::ColorTargetState {
                format: render_state.target_format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
        }),
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        multiview_mask: None,
        cache: None,
    })
}

/// One window frame's backdrop: its colour, and the viewer's rectangle to leave out (points).
pub struct BackdropPaint {
    pub colour: egui::Color32,
    pub hole: Option<egui::Rect>,
}

impl BackdropPaint {
    /// The rectangles (x, y, width, height in pixels) of a `width`×`height` screen around the
    /// hole. The hole shrinks to whole pixels inside it, so no pixel is left undrawn: the
    /// viewer, drawn later, covers the pixels its edge only partly covers.
    fn rects(&self, pixels_per_point: f32, [width, height]: [u32; 2]) -> Vec<[u32; 4]> {
        let Some(hole) = self.hole else {
            return vec![[0, 0, width, height]];
        };
        let px = |v: f32, limit: u32| (v * pixels_per_point).clamp(0.0, limit as f32);
        let x0 = px(hole.min.x, width).ceil() as u32;
        let y0 = px(hole.min.y, height).ceil() as u32;
        let x1 = (px(hole.max.x, width).floor() as u32).max(x0);
        let y1 = (px(hole.max.y, height).floor() as u32).max(y0);
        [
            [0, 0, width, y0],
            [0, y1, width, height - y1],
            [0, y0, x0, y1 - y0],
            [x1, y0, width - x1, y1 - y0],
        ]
        .into_iter()
        .filter(|r| r[2] > 0 && r[3] > 0)
        .collect()
    }
}

impl egui_wgpu::CallbackTrait for BackdropPaint {
    fn prepare(
        &self,
        _device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(res) = resources.get::<BackdropResources>() {
            let colour = if res.srgb_target {
                egui::Rgba::from(self.colour).to_array()
            } else {
                self.colour.to_normalized_gamma_f32()
            };
            queue.write_buffer(&res.uniform, 0, bytemuck::bytes_of(&colour));
        }
        Vec::new()
    }

    fn paint(
        &self,
        info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<BackdropResources>() else {
            return;
        };
        let [width, height] = info.screen_size_px;
        render_pass.set_viewport(0.0, 0.0, width as f32, height as f32, 0.0, 1.0);
        render_pass.set_pipeline(&res.pipeline);
        render_pass.set_bind_group(0, &res.bind_group, &[]);
        for [x, y, w, h] in self.rects(info.pixels_per_point, info.screen_size_px) {
            render_pass.set_scissor_rect(x, y, w, h);
            render_pass.draw(0..3, 0..1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BackdropPaint, DisplayUniform, SCREEN_LUT_SIZE, plain_display, screen_lut};
    use crate::app::state::Transform;

    /// `screen_from_lut` in `display.wgsl`, in f32 as the shader does it.
    fn lookup(table: &[f32], x: f32, gain: f32) -> f32 {
        let n = table.len() as u32;
        let r = (x * gain).clamp(0.0, 1.0).sqrt() * (n - 1) as f32;
        let i = (r as u32).min(n - 2) as usize;
        let f = r - i as f32;
        table[i] * (1.0 - f) + table[i + 1] * f
    }

    #[test]
    fn the_plain_shader_s_table_gives_the_display_transform_within_a_twentieth_of_a_code() {
        // Every transform, at 200,001 values from black to past white, and with a gain: the
        // table's lookup against the CPU twin of `to_screen`. sRGB and raw within 1e-5 (0.003 of
        // an 8-bit code value); Rec.709 within 2e-4 (0.05 of a code), the curve's own step where
        // its linear toe meets the power law at 0.018 (4.5 · 0.018 = 0.0810 against 0.0812).
        for (code, t) in [Transform::Srgb, Transform::Rec709, Transform::Raw]
            .into_iter()
            .enumerate()
        {
            let table = screen_lut(code as u32, false);
            assert_eq!(table.len(), SCREEN_LUT_SIZE);
            let mut worst = 0.0f32;
            for gain in [1.0f32, 2.0, 0.25] {
                for i in 0..=200_000 {
                    let x = 1.2 * i as f32 / 200_000.0;
                    let want = t.encode(x * gain);
                    worst = worst.max((lookup(&table, x, gain) - want).abs());
                }
            }
            let bound = if t == Transform::Rec709 { 2e-4 } else { 1e-5 };
            assert!(worst < bound, "{t:?}: off by {worst}");
        }
        // A target that encodes sRGB itself gets the value its encoding turns into the screen
        // value.
        let table = screen_lut(0, true);
        let v = lookup(&table, 0.18, 1.0);
        let screen = crate::shot::colour::linear_to_srgb(v);
        assert!((screen - Transform::Srgb.encode(0.18)).abs() < 1e-5);
    }

    #[test]
    fn the_plain_shader_is_chosen_only_where_it_draws_what_the_full_one_draws() {
        let composite = DisplayUniform {
            view_a: 3,
            view_b: 3,
            size_px: [800.0, 600.0],
            ..DisplayUniform::default()
        };
        assert!(plain_display(&composite));
        for other in [
            DisplayUniform {
                view_a: 0,
                view_b: 0,
                ..composite
            },
            DisplayUniform {
                view_b: 0,
                ..composite
            },
            DisplayUniform {
                view_a: 1,
                view_b: 1,
                ..composite
            },
            DisplayUniform {
                view_a: 2,
                view_b: 2,
                ..composite
            },
            DisplayUniform {
                wipe_px: 400.0,
                ..composite
            },
            DisplayUniform {
                channel: 4,
                ..composite
            },
            DisplayUniform {
                overlay: 0.5,
                has_aux: 1,
                ..composite
            },
            DisplayUniform {
                zebra: 1,
                ..composite
            },
            DisplayUniform {
                gamma: 2.2,
                ..composite
            },
        ] {
            assert!(!plain_display(&other), "{other:?}");
        }
    }

    #[test]
    fn the_backdrop_covers_the_screen_around_the_viewer_and_nothing_of_it() {
        let paint = |hole| BackdropPaint {
            colour: egui::Color32::BLACK,
            hole,
        };
        assert_eq!(paint(None).rects(1.0, [100, 80]), vec![[0, 0, 100, 80]]);
        // A hole at fractional pixels (ppp 1.5): the bands reach into its partly covered edge.
        let hole = egui::Rect::from_min_max(egui::pos2(10.2, 20.0), egui::pos2(60.0, 50.1));
        let rects = paint(Some(hole)).rects(1.5, [100, 80]);
        let mut covered = vec![0u8; 100 * 80];
        for [x, y, w, h] in &rects {
            for yy in *y..y + h {
                for xx in *x..x + w {
                    covered[(yy * 100 + xx) as usize] += 1;
                }
            }
        }
        for y in 0..80u32 {
            for x in 0..100u32 {
                // Pixels wholly inside the hole (in pixels: 15.3..90, 30..75.15) are left out.
                let inside = (16..90).contains(&x) && (30..75).contains(&y);
                assert_eq!(
                    covered[(y * 100 + x) as usize],
                    u8::from(!inside),
                    "({x}, {y})"
                );
            }
        }
        // A hole past the screen's edge is clamped to it.
        let big = egui::Rect::from_min_max(egui::pos2(-5.0, -5.0), egui::pos2(500.0, 500.0));
        assert!(paint(Some(big)).rects(1.0, [100, 80]).is_empty());
    }
}
