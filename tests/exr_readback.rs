//! The EXRs the real pipeline writes, read back by independent tools: Debian's Blender (in
//! background mode) and OpenImageIO's `oiiotool`. One Image node in Blender must expose the
//! depth and every matte, for a pass file with a matte, one with no matte, one with no depth, and
//! a composite; `oiiotool --info -v` must list the same channels, with the standard attributes.
//!
//! CI installs both tools (scripts/setup.sh: `blender`, `openimageio-tools`); there a missing
//! tool fails the test. Elsewhere it is skipped with a message.
//!
//! `MATTEBOX_BPY_PYTHON=/path/to/python` (a Python with the PyPI `bpy` 5.x module) runs the same
//! Blender check under Blender 5 as well.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mattebox::project::Project;
use mattebox::shot::FrameRange;

/// The Blender script: loads each file given after `--` in one Image node of a compositor tree
/// and prints, per file, the image's type, the node's enabled outputs and their socket types.
/// Written for Blender 3.4 (`scene.node_tree`) and 5.x (`scene.compositing_node_group`).
const BLENDER_PROBE: &str = r#"
import bpy, json, sys
files = sys.argv[sys.argv.index("--") + 1:]
scene = bpy.context.scene
if hasattr(scene, "compositing_node_group"):
    tree = bpy.data.node_groups.new("probe", "CompositorNodeTree")
    scene.compositing_node_group = tree
else:
    scene.use_nodes = True
    tree = scene.node_tree
found = {}
for path in files:
    image = bpy.data.images.load(path)
    node = tree.nodes.new("CompositorNodeImage")
    node.image = image
    found[path] = {
        "type": image.type,
        "outputs": [[s.name, s.type] for s in node.outputs if s.enabled],
    }
print("MATTEBOX_PROBE " + json.dumps(found))
"#;

/// What Blender showed for one file: its image type and the Image node's outputs (name, type).
#[derive(Debug)]
struct BlenderView {
    kind: String,
    outputs: Vec<(String, String)>,
}

/// Whether `tool` runs. On CI (CI=true) a missing tool is a failure, since scripts/setup.sh
/// installs it; elsewhere the test is skipped with a message.
fn have(tool: &str, package: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is missing on CI: scripts/setup.sh installs the Debian package {package}"
        );
        eprintln!("skipped: {tool} is not installed (apt-get install {package})");
    }
    found
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The probe's answer for every file, from one run of Blender (or of a `bpy` Python).
fn blender_views(mut command: Command, script: &Path, files: &[&Path]) -> Vec<BlenderView> {
    let output = run(command.arg(script).arg("--").args(files));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MATTEBOX_PROBE "))
        .unwrap_or_else(|| panic!("the Blender probe printed nothing:\n{stdout}"));
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    files
        .iter()
        .map(|file| {
            let view = &json[file.to_string_lossy().as_ref()];
            BlenderView {
                kind: view["type"].as_str().unwrap_or_default().to_string(),
                outputs: view["outputs"]
                    .as_array()
                    .unwrap_or_else(|| panic!("no outputs for {}: {line}", file.display()))
                    .iter()
                    .map(|o| {
                        (
                            o[0].as_str().unwrap_or_default().to_string(),
                            o[1].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Checks that one Image node shows the plate, the depth (when there is one) and exactly these
/// mattes, as single-value sockets.
fn assert_one_node_shows_everything(
    blender: &str,
    file: &Path,
    view: &BlenderView,
    depth: bool,
    mattes: &[&str],
) {
    let what = format!("{blender}, {}: {view:?}", file.display());
    assert_eq!(view.kind, "MULTILAYER", "{what}");
    let names: Vec<&str> = view.outputs.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected = vec!["Combined", "Alpha"];
    if depth {
        expected.push("depth");
    }
    let matte_sockets: Vec<String> = mattes.iter().map(|m| format!("matte_{m}")).collect();
    expected.extend(matte_sockets.iter().map(String::as_str));
    let mut sorted_names = names.clone();
    sorted_names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted_names, expected, "{what}");
    for (name, kind) in &view.outputs {
        if name == "depth" || name.starts_with("matte_") {
            assert_eq!(kind, "VALUE", "{name} is one value per pixel: {what}");
        }
    }
}

/// What `oiiotool --info -v --stats` says of a file: the channel list, the attributes (name to
/// text) and the per-channel minimum and maximum.
struct OiioView {
    channels: Vec<(String, String)>,
    attributes: BTreeMap<String, String>,
    min: Vec<f64>,
    max: Vec<f64>,
}

fn oiio_view(file: &Path) -> OiioView {
    let output = run(Command::new("oiiotool")
        .args(["--info", "-v", "--stats"])
        .arg(file));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut view = OiioView {
        channels: Vec::new(),
        attributes: BTreeMap::new(),
        min: Vec::new(),
        max: Vec::new(),
    };
    let numbers = |rest: &str| -> Vec<f64> {
        rest.split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    for line in text.lines().map(str::trim) {
        if let Some(list) = line.strip_prefix("channel list: ") {
            // "R (half), G (half), ..., depth.Z (float)"
            view.channels = list
                .split(", ")
                .map(|c| match c.split_once(" (") {
                    Some((name, ty)) => (name.to_string(), ty.trim_end_matches(')').to_string()),
                    None => (c.to_string(), String::new()),
                })
                .collect();
        } else if let Some(rest) = line.strip_prefix("Stats Min: ") {
            view.min = numbers(rest);
        } else if let Some(rest) = line.strip_prefix("Stats Max: ") {
            view.max = numbers(rest);
        } else if let Some((name, value)) = line.split_once(": ") {
            view.attributes
                .insert(name.to_string(), value.trim_matches('"').to_string());
        }
    }
    assert!(
        !view.channels.is_empty(),
        "no channel list from oiiotool:\n{text}"
    );
    // When every channel has one type, OIIO names it once, on the file's line:
    // "file.exr : 256 x 192, 5 channel, half openexr".
    let common_type = text
        .lines()
        .find_map(|l| l.rsplit_once(" channel, "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    for (_, ty) in &mut view.channels {
        if ty.is_empty() {
            ty.clone_from(&common_type);
        }
    }
    view
}

/// Checks oiiotool's view of a file: exactly these channels with their types, the values of
/// every channel as the `exr` crate reads them, and the standard and Mattebox attributes.
fn assert_oiiotool_lists(file: &Path, expected: &[(&str, &str)]) {
    let view = oiio_view(file);
    let mut found: Vec<(&str, &str)> = view
        .channels
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut want = expected.to_vec();
    found.sort_unstable();
    want.sort_unstable();
    assert_eq!(found, want, "{}", file.display());

    // The same numbers as the exr crate reads: OIIO decodes the same data under the same names.
    let ours = common::exr_channels(file);
    assert_eq!(view.min.len(), view.channels.len(), "{}", file.display());
    for (i, (name, _)) in view.channels.iter().enumerate() {
        let values = &ours.iter().find(|(n, _)| n == name).unwrap().1;
        let lo = values.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * b.abs().max(1.0);
        assert!(
            close(view.min[i], lo) && close(view.max[i], hi),
            "{} {name}: oiiotool {}..{}, exr crate {lo}..{hi}",
            file.display(),
            view.min[i],
            view.max[i]
        );
    }

    let attr = |name: &str| {
        view.attributes
            .get(name)
            .unwrap_or_else(|| panic!("{}: no {name} in {:?}", file.display(), view.attributes))
            .clone()
    };
    // The working space's primaries (Rec.709, D65 white) and the shot's frame rate.
    let chromaticities = attr("chromaticities");
    assert!(
        chromaticities.starts_with("0.64, 0.33, 0.3, 0.6, 0.15, 0.06, 0.3127, 0.329"),
        "{chromaticities}"
    );
    let fps = attr("framesPerSecond");
    assert!(fps.starts_with("24/1"), "framesPerSecond = {fps}");
    // The source is named relative to the file's folder: no folder of the user's in the file.
    let source = attr("mattebox/source");
    assert!(
        source.starts_with("../") && source.ends_with("astronaut.1001.png"),
        "{}: mattebox/source = {source}",
        file.display()
    );
    let resolved = file.parent().unwrap().join(&source);
    assert!(
        resolved.is_file(),
        "{} does not resolve",
        resolved.display()
    );
}

fn mattebox(args: &[&std::ffi::OsStr]) {
    common::quiet_vulkan();
    run(common::bin().args(args));
}

/// The files of one run of the real pipeline: a render (its pass file and its composite) and
/// two process runs (no matte; no depth), sharing one pass cache.
struct Exports {
    _tmp: tempfile::TempDir,
    pass: PathBuf,
    composite: PathBuf,
    depth_only: PathBuf,
    matte_only: PathBuf,
}

fn exports() -> Exports {
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot");
    common::small_shot(&shot, 1);
    let project_path = tmp.path().join("p.mattebox.json");
    let range = FrameRange {
        first: 1001,
        last: 1001,
    };
    Project::template_for(shot.clone(), Some(range))
        .save(&project_path)
        .unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    mattebox(&[
        os("render"),
        project_path.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--renderer"),
        os("cpu"),
        os("--cache-dir"),
        cache.as_os_str(),
    ]);
    let process = |extra: &'static str, dir: &str| {
        let dir = tmp.path().join(dir);
        mattebox(&[
            os("process"),
            shot.as_os_str(),
            os("--out"),
            dir.as_os_str(),
            os(extra),
            os("none"),
            os("--fps"),
            os("24"),
            os("--cache-dir"),
            cache.as_os_str(),
        ]);
        dir.join("astronaut.1001.exr")
    };
    let depth_only = process("--matte", "depth_only");
    let matte_only = process("--depth", "matte_only");
    // A one-frame shot with the template's camera move renders as a still's move: frames
    // numbered from 1.
    let composite = std::fs::read_dir(out.join("composite"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "exr"))
        .min()
        .expect("the render wrote a composite EXR");
    Exports {
        pass: out.join("passes/astronaut.1001.exr"),
        composite,
        depth_only,
        matte_only,
        _tmp: tmp,
    }
}

#[test]
fn blender_and_oiiotool_show_the_depth_and_every_matte_on_one_layer() {
    let blender = have("blender", "blender");
    let oiiotool = have("oiiotool", "openimageio-tools");
    let bpy = std::env::var_os("MATTEBOX_BPY_PYTHON").map(PathBuf::from);
    if !blender && !oiiotool && bpy.is_none() {
        return;
    }
    let files = exports();
    // (file, has depth, mattes)
    let cases: [(&Path, bool, &[&str]); 4] = [
        (&files.pass, true, &["fg"]),
        (&files.depth_only, true, &[]),
        (&files.matte_only, false, &["fg"]),
        (&files.composite, true, &["fg", "disocclusion"]),
    ];
    let paths: Vec<&Path> = cases.iter().map(|c| c.0).collect();

    let script = files._tmp.path().join("probe.py");
    std::fs::write(&script, BLENDER_PROBE).unwrap();
    let mut readers: Vec<(String, Command)> = Vec::new();
    if blender {
        let mut command = Command::new("blender");
        command.args([
            "-b",
            "--factory-startup",
            "--python-exit-code",
            "1",
            "--python",
        ]);
        readers.push(("Debian's blender".into(), command));
    }
    if let Some(python) = bpy {
        // The bpy module reads its arguments from sys.argv, as Blender's --python does.
        let mut command = Command::new(&python);
        command.args([
            "-c",
            "import runpy, sys; script = sys.argv[1]; sys.argv = sys.argv[1:]; \
             import bpy; runpy.run_path(script, run_name='__main__')",
        ]);
        readers.push((format!("bpy under {}", python.display()), command));
    }
    for (name, command) in readers {
        let views = blender_views(command, &script, &paths);
        for ((file, depth, mattes), view) in cases.iter().zip(&views) {
            assert_one_node_shows_everything(&name, file, view, *depth, mattes);
        }
    }

    if oiiotool {
        let plate = [("R", "half"), ("G", "half"), ("B", "half"), ("A", "half")];
        for (file, depth, mattes) in cases {
            let mut expected: Vec<(&str, &str)> = plate.to_vec();
            if depth {
                expected.push(("depth.Z", "float"));
            }
            let matte_channels: Vec<String> =
                mattes.iter().map(|m| format!("matte_{m}.A")).collect();
            expected.extend(matte_channels.iter().map(|c| (c.as_str(), "half")));
            assert_oiiotool_lists(file, &expected);
        }
        // The composite says its depth is scene metres from the render's camera, and how the
        // model's values became metres (the template's scene: 1.5 to 30 m, curve 1).
        let view = oiio_view(&files.composite);
        let attr = |name: &str| view.attributes.get(name).cloned().unwrap_or_default();
        assert_eq!(attr("mattebox/depth/semantics"), "scene_distance");
        assert_eq!(attr("mattebox/depth/unit"), "m");
        assert_eq!(attr("mattebox/depth/mapping"), "scene");
        assert_eq!(attr("mattebox/depth/nearM"), "1.5");
        assert_eq!(attr("mattebox/depth/farM"), "30");
        assert_eq!(attr("mattebox/depth/curve"), "1");
        assert_eq!(attr("mattebox/depth/modelSemantics"), "metric");
        assert!(!attr("mattebox/depth/modelNear").is_empty());
        // A pass file's depth is the model's own values.
        let view = oiio_view(&files.pass);
        assert_eq!(
            view.attributes.get("mattebox/depth/semantics").cloned(),
            Some("metric".to_string())
        );
    }
}
