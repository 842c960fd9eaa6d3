//! The wgpu executor on the machine's adapter (llvmpipe/lavapipe where there is no GPU).

mod common;

use mattebox::composite::gpu::{GpuChoice, GpuRenderer};
use mattebox::composite::image::Image;
use mattebox::composite::plan::{Input, PlanBuilder};
use mattebox::composite::{FrameInputs, cpu};

fn renderer() -> GpuRenderer {
    common::quiet_vulkan();
    let r = GpuRenderer::new(GpuChoice::Auto).expect("a wgpu adapter (llvmpipe at least)");
    println!("adapter: {}", r.adapter_label());
    r
}

#[test]
fn a_plate_round_trips_through_the_gpu_unchanged() {
    let gpu = renderer();
    let plate = common::photo_image("astronaut.png", 131, 97);
    let mut b = PlanBuilder::new(plate.width, plate.height);
    let slot = b.input(Input::Plate);
    let plan = b.finish(slot, slot);
    let inputs = FrameInputs {
        plate: Some(plate.clone()),
        ..Default::default()
    };
    let out = gpu.render(&plan, &inputs).expect("render");
    assert_eq!(
        out.rgba, plate,
        "upload and readback must be exact (odd sizes included)"
    );
    let reference = cpu::render(&plan, &inputs).expect("cpu render");
    assert_eq!(reference.rgba, plate);
}

#[test]
fn software_adapter_is_selectable_and_named() {
    common::quiet_vulkan();
    let gpu = GpuRenderer::new(GpuChoice::Software).expect("software adapter");
    assert!(gpu.is_software(), "{}", gpu.adapter_label());
    assert!(!gpu.adapter_label().is_empty());
    gpu.warm_up().expect("every shader compiles on the device");
}

#[test]
fn a_plan_missing_an_input_is_an_error_not_a_crash() {
    let gpu = renderer();
    let mut b = PlanBuilder::new(8, 8);
    let slot = b.input(Input::Aux);
    let plan = b.finish(slot, slot);
    let inputs = FrameInputs {
        plate: Some(Image::new(8, 8)),
        ..Default::default()
    };
    let err = gpu.render(&plan, &inputs).expect_err("no aux");
    assert!(err.to_string().contains("Aux"), "{err}");
    let err = cpu::render(&plan, &inputs).expect_err("no aux");
    assert!(err.to_string().contains("Aux"), "{err}");
}
