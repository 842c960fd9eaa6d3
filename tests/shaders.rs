//! Every shader in `shaders/` compiles: each op shader, with its includes resolved, parses and
//! validates with naga (the compiler wgpu itself uses), and declares the `main` compute entry point.

use mattebox::composite::shaders;

#[test]
fn every_shader_parses_and_validates_with_naga() {
    let names: Vec<&str> = shaders::names().collect();
    assert!(names.contains(&"common.wgsl"), "shaders found: {names:?}");
    let mut entries = 0;
    for name in names {
        let source = shaders::source(name).unwrap_or_else(|e| panic!("{e}"));
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        if shaders::is_entry(name) {
            entries += 1;
            let main = module
                .entry_points
                .iter()
                .find(|e| e.name == "main")
                .unwrap_or_else(|| panic!("{name}: no `main` entry point"));
            assert_eq!(main.stage, naga::ShaderStage::Compute, "{name}");
            assert_eq!(main.workgroup_size, [8, 8, 1], "{name}");
        }
    }
    println!("{entries} op shaders validated");
}
