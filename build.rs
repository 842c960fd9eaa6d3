//! Embeds every `shaders/*.wgsl` file in the binary, so the renderer needs no files at run time.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=shaders");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".wgsl"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut out = String::from(
        "/// Every shader file: (file name, source).\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        // The path is resolved where the library compiles (not baked in here), so a build
        // script output left by another checkout sharing `target/` (benches/compare.sh builds a
        // baseline beside this tree) still reads this tree's shaders.
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/shaders/{name}\"))),"
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out_dir.join("shaders.rs"), out) {
        println!("cargo:warning=could not write the shader list: {e}");
        std::process::exit(1);
    }
}
