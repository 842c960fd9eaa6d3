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

/// The viewer's uniform block in `display.wgsl` has the size and field offsets of its Rust twin,
/// `DisplayUniform` (the working space's matrix included).
#[cfg(feature = "gui")]
#[test]
fn the_display_uniform_matches_its_rust_twin() {
    use mattebox::app::viewer::DisplayUniform;
    let source = shaders::source("display.wgsl").unwrap();
    let module = naga::front::wgsl::parse_str(&source).unwrap();
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some("Display"))
        .expect("struct Display");
    let naga::TypeInner::Struct { members, span } = &ty.inner else {
        panic!("Display is not a struct");
    };
    assert_eq!(*span as usize, std::mem::size_of::<DisplayUniform>());
    let offset = |name: &str| {
        members
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no member {name}"))
            .offset as usize
    };
    assert_eq!(offset("gain"), std::mem::offset_of!(DisplayUniform, gain));
    assert_eq!(offset("zebra"), std::mem::offset_of!(DisplayUniform, zebra));
    assert_eq!(
        offset("to_rec709"),
        std::mem::offset_of!(DisplayUniform, to_rec709)
    );
}
