//! Reading an ONNX graph's signature (its inputs' and outputs' names and shapes) and recognising
//! the model families Mattebox knows by it: Depth Anything V2, MiDaS, U²-Net, IS-Net and
//! BiRefNet. A recognised graph gets a proposed manifest entry that follows its family's
//! reference pipeline; any other gets a template to fill in.
//!
//! [`recognise`] and [`propose`] are pure functions of a [`GraphInfo`], so they are tested on
//! described graphs; [`inspect`] reads one from a file through ONNX Runtime.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::ValueType;

use super::InferError;
use super::manifest::{
    Aspect, ChannelOrder, InputSpec, Layout, ModelEntry, Normalise, OutputSemantics, OutputSpec,
    Post, ResizeFilter, ResizeSpace, Scale, Task,
};
use super::runtime::Runtime;

/// ImageNet's mean, in RGB order.
const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet's standard deviation, in RGB order.
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// One input or output of a graph: its name and shape (`-1` for a dynamic dimension). A
/// non-tensor value has an empty shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name in the graph.
    pub name: String,
    /// Its dimensions; `-1` where dynamic.
    pub shape: Vec<i64>,
}

impl TensorInfo {
    /// A tensor of this name and shape.
    pub fn new(name: &str, shape: &[i64]) -> TensorInfo {
        TensorInfo {
            name: name.to_string(),
            shape: shape.to_vec(),
        }
    }

    fn shape_text(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| {
                if *d < 0 {
                    "?".to_string()
                } else {
                    d.to_string()
                }
            })
            .collect();
        format!("[{}]", dims.join(", "))
    }
}

/// A graph's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphInfo {
    /// The inputs, in the graph's order.
    pub inputs: Vec<TensorInfo>,
    /// The outputs, in the graph's order.
    pub outputs: Vec<TensorInfo>,
}

impl std::fmt::Display for GraphInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (what, list) in [("input", &self.inputs), ("output", &self.outputs)] {
            for t in list {
                writeln!(f, "  {what:<6} {:<20} {}", t.name, t.shape_text())?;
            }
        }
        Ok(())
    }
}

/// The model families recognised by their signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Depth Anything V2 (relative inverse depth; dynamic or fixed 518).
    DepthAnythingV2,
    /// MiDaS v2.1 (relative inverse depth; fixed 256 or 384).
    Midas,
    /// U²-Net and U²-Netp (salient-object matte; 320, seven outputs).
    U2Net,
    /// IS-Net / DIS (dichotomous segmentation matte; 1024, six outputs).
    IsNet,
    /// BiRefNet (matte; 1024, one output of logits).
    BiRefNet,
}

impl Family {
    /// The family's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Family::DepthAnythingV2 => "Depth Anything V2",
            Family::Midas => "MiDaS",
            Family::U2Net => "U²-Net",
            Family::IsNet => "IS-Net",
            Family::BiRefNet => "BiRefNet",
        }
    }

    /// What the family does.
    pub fn task(self) -> Task {
        match self {
            Family::DepthAnythingV2 | Family::Midas => Task::Depth,
            Family::U2Net | Family::IsNet | Family::BiRefNet => Task::Matte,
        }
    }
}

/// Reads a graph's signature with ONNX Runtime (no session is kept).
pub fn inspect(runtime: &Runtime, path: &Path) -> Result<GraphInfo, InferError> {
    let bytes = std::fs::read(path).map_err(|source| InferError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let ort_err = |during: &'static str, reason: String| InferError::Ort {
        path: path.to_path_buf(),
        during,
        reason,
    };
    let session = Session::builder(&runtime.env)
        .map_err(|e| ort_err("creating a session", e.to_string()))?
        .commit_from_memory(&bytes)
        .map_err(|e| ort_err("reading the graph", e.to_string()))?;
    let describe = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| TensorInfo {
                name: o.name().to_string(),
                shape: match o.dtype() {
                    ValueType::Tensor { shape, .. } => shape.to_vec(),
                    _ => Vec::new(),
                },
            })
            .collect()
    };
    Ok(GraphInfo {
        inputs: describe(session.inputs()),
        outputs: describe(session.outputs()),
    })
}

/// The image input's height and width (`-1` where dynamic), when the graph has one input of
/// shape `[1 or ?, 3, H, W]`.
fn image_input(graph: &GraphInfo) -> Option<(i64, i64)> {
    match graph.inputs.as_slice() {
        [only] => match only.shape.as_slice() {
            [n, 3, h, w] if *n <= 1 => Some((*h, *w)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `t` is a one-channel picture `[1, 1, H, W]` of the input's size.
fn is_map(t: &TensorInfo, (h, w): (i64, i64)) -> bool {
    matches!(t.shape.as_slice(), [n, 1, oh, ow] if *n <= 1 && *oh == h && *ow == w)
}

/// Recognises a graph's family by its signature: its input's and outputs' names, ranks,
/// channel counts and fixed or dynamic sizes. `None` for a graph of no known family.
pub fn recognise(graph: &GraphInfo) -> Option<Family> {
    let (h, w) = image_input(graph)?;
    let fixed = h > 0 && w > 0;
    let input = graph.inputs[0].name.as_str();
    let outputs = &graph.outputs;
    if outputs.is_empty() {
        return None;
    }
    let all_maps = outputs.iter().all(|o| is_map(o, (h, w)));
    // Matte families: rembg's U²-Net (7 side outputs), IS-Net (6), BiRefNet (1, `output_image`).
    if fixed && all_maps {
        match outputs.len() {
            7 if (h, w) == (320, 320) || input == "input.1" => return Some(Family::U2Net),
            6 if (h, w) == (1024, 1024) || input == "input" => return Some(Family::IsNet),
            1 if input == "input_image" || outputs[0].name == "output_image" => {
                return Some(Family::BiRefNet);
            }
            _ => {}
        }
    }
    // Depth families: one output, `[1, H, W]` (or `[1, 1, H, W]`) of the input's size.
    if outputs.len() != 1 {
        return None;
    }
    let out = &outputs[0];
    let depth_like = matches!(out.shape.as_slice(), [n, oh, ow] if *n <= 1 && *oh == h && *ow == w)
        || is_map(out, (h, w));
    if !depth_like {
        return None;
    }
    let named_dav2 = input == "pixel_values" || out.name == "predicted_depth";
    if named_dav2
        || (!fixed && h < 0 && w < 0)
        || (fixed && h % 14 == 0 && w % 14 == 0 && out.shape.len() == 3)
    {
        return Some(Family::DepthAnythingV2);
    }
    // MiDaS v2.1 releases: a fixed square input at a multiple of 32 (256 small, 384 large),
    // and a rank-3 output.
    if fixed && h == w && h % 32 == 0 && out.shape.len() == 3 {
        return Some(Family::Midas);
    }
    None
}

/// The id made from a file name: lower case, runs of other characters as one `-`.
pub fn id_from_file(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut id = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-').to_string();
    if id.is_empty() { "model".into() } else { id }
}

/// The manifest entry proposed for a graph of `family`, following the family's reference
/// pipeline (Depth Anything V2's `image2tensor`, MiDaS's transforms, rembg's sessions for the
/// mattes). `file` is the `.onnx` file relative to the models folder; no hash is set.
pub fn propose(graph: &GraphInfo, family: Family, id: &str, file: PathBuf) -> ModelEntry {
    let (h, w) = image_input(graph).unwrap_or((-1, -1));
    let fixed = h > 0 && w > 0;
    let size = |default: u32| -> (u32, u32) {
        if fixed {
            (w as u32, h as u32)
        } else {
            (default, default)
        }
    };
    let input_name = graph.inputs.first().map(|t| t.name.clone());
    let output_name = graph.outputs.first().map(|t| t.name.clone());
    let input = |(width, height): (u32, u32), resize, aspect, multiple_of| InputSpec {
        name: input_name.clone(),
        width,
        height,
        layout: Layout::Nchw,
        channels: ChannelOrder::Rgb,
        resize,
        resize_space: ResizeSpace::Srgb,
        aspect,
        multiple_of,
    };
    let output = |semantics, post| OutputSpec {
        name: output_name.clone(),
        semantics,
        post,
    };
    let imagenet = |scale| Normalise {
        scale,
        mean: IMAGENET_MEAN,
        std: IMAGENET_STD,
    };
    let (input, normalise, output, licence, description) = match family {
        Family::DepthAnythingV2 => (
            if fixed {
                input(size(518), ResizeFilter::Bicubic, Aspect::Stretch, 1)
            } else {
                input(size(518), ResizeFilter::Bicubic, Aspect::Keep, 14)
            },
            imagenet(Scale::Unit),
            output(OutputSemantics::RelativeInverseDepth, Post::None),
            "unknown: check the weights' licence (Depth Anything V2 Small is Apache-2.0; Base and Large are CC-BY-NC-4.0)",
            "Depth Anything V2: relative inverse depth (disparity)",
        ),
        Family::Midas => (
            input(size(256), ResizeFilter::Bicubic, Aspect::Stretch, 1),
            imagenet(Scale::Unit),
            output(OutputSemantics::RelativeInverseDepth, Post::None),
            "unknown: check the weights' licence (MiDaS v2.1 is MIT)",
            "MiDaS: relative inverse depth (disparity)",
        ),
        Family::U2Net => (
            input(size(320), ResizeFilter::Lanczos3, Aspect::Stretch, 1),
            imagenet(Scale::Max),
            output(OutputSemantics::Alpha, Post::Minmax),
            "unknown: check the weights' licence (U-2-Net is Apache-2.0)",
            "U²-Net: foreground / salient-object matte",
        ),
        Family::IsNet => (
            input(size(1024), ResizeFilter::Lanczos3, Aspect::Stretch, 1),
            Normalise {
                scale: Scale::Max,
                mean: [0.5; 3],
                std: [1.0; 3],
            },
            output(OutputSemantics::Alpha, Post::Minmax),
            "unknown: check the weights' licence (IS-Net / DIS is Apache-2.0)",
            "IS-Net: dichotomous segmentation matte",
        ),
        Family::BiRefNet => (
            input(size(1024), ResizeFilter::Lanczos3, Aspect::Stretch, 1),
            imagenet(Scale::Max),
            output(OutputSemantics::Alpha, Post::Sigmoid),
            "unknown: check the weights' licence (BiRefNet is MIT)",
            "BiRefNet: foreground matte",
        ),
    };
    ModelEntry {
        id: id.to_string(),
        task: family.task(),
        file,
        sha256: None,
        licence: licence.to_string(),
        source: None,
        url: None,
        non_commercial: false,
        description: Some(description.to_string()),
        input,
        normalise,
        output,
    }
}

/// An entry as the text of a manifest file (`[[model]]`), after `header` comment lines.
pub fn entry_toml(entry: &ModelEntry, header: &str) -> Result<String, InferError> {
    #[derive(serde::Serialize)]
    struct One<'a> {
        model: [&'a ModelEntry; 1],
    }
    let body = toml::to_string(&One { model: [entry] }).map_err(|e| InferError::Write {
        path: PathBuf::from(format!("{}.toml", entry.id)),
        reason: e.to_string(),
    })?;
    let mut text = String::new();
    for line in header.lines() {
        let _ = writeln!(text, "# {line}");
    }
    text.push_str(&body);
    Ok(text)
}

/// The template entry for a graph of no known family: the inspected input and outputs filled
/// in, every guess marked `TODO`. `task` is the user's, when given.
pub fn template(graph: &GraphInfo, id: &str, file: &Path, task: Option<Task>) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# A template written by `mattebox models add`: the graph {} is of no family Mattebox\n\
         # knows (Depth Anything V2, MiDaS, U²-Net, IS-Net, BiRefNet). Its signature:\n#",
        file.display()
    );
    for line in graph.to_string().lines() {
        let _ = writeln!(t, "#{line}");
    }
    let _ = writeln!(
        t,
        "#\n# Fill in every TODO from the model's reference pipeline (its README or inference\n\
         # script), rename this file to {id}.toml, and check it with `mattebox models verify {id}`.\n\
         # The fields are described at the top of models/manifest.toml.\n"
    );
    let (h, w) = image_input(graph).unwrap_or((-1, -1));
    let dim = |d: i64| {
        if d > 0 {
            d.to_string()
        } else {
            "0 # TODO: dynamic in the graph; the size the model was trained at".into()
        }
    };
    let task_line = match task {
        Some(task) => format!("\"{}\"", task.as_str()),
        None => "\"TODO\" # \"depth\" or \"matte\"".into(),
    };
    let semantics = match task {
        Some(Task::Matte) => "\"alpha\"".to_string(),
        _ => "\"TODO\" # metric_depth, relative_depth, relative_inverse_depth or alpha".into(),
    };
    let input_name = graph.inputs.first().map(|i| i.name.as_str()).unwrap_or("");
    let output_name = graph.outputs.first().map(|o| o.name.as_str()).unwrap_or("");
    let _ = writeln!(
        t,
        "[[model]]\nid = \"{id}\"\ntask = {task_line}\nfile = \"{}\"\n\
         licence = \"TODO\" # the weights' licence\n\n\
         [model.input]\nname = \"{input_name}\"\nwidth = {}\nheight = {}\nlayout = \"nchw\"\n\
         channels = \"rgb\"\nresize = \"bilinear\" # TODO: nearest, box, bilinear, bicubic or lanczos3\n\
         aspect = \"stretch\" # TODO: stretch, pad or keep (keep needs dynamic height and width)\n\n\
         [model.normalise]\nscale = \"unit\" # TODO: unit or max\n\
         mean = [0.0, 0.0, 0.0] # TODO: per channel, RGB\nstd = [1.0, 1.0, 1.0] # TODO\n\n\
         [model.output]\nname = \"{output_name}\"\nsemantics = {semantics}\n\
         post = \"none\" # TODO: none, minmax or sigmoid",
        file.display(),
        dim(w),
        dim(h),
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(inputs: &[(&str, &[i64])], outputs: &[(&str, &[i64])]) -> GraphInfo {
        let list = |l: &[(&str, &[i64])]| l.iter().map(|(n, s)| TensorInfo::new(n, s)).collect();
        GraphInfo {
            inputs: list(inputs),
            outputs: list(outputs),
        }
    }

    #[test]
    fn each_family_is_recognised_by_its_signature() {
        let dav2 = graph(
            &[("pixel_values", &[1, 3, -1, -1])],
            &[("predicted_depth", &[1, -1, -1])],
        );
        assert_eq!(recognise(&dav2), Some(Family::DepthAnythingV2));
        let e = propose(&dav2, Family::DepthAnythingV2, "d", "d.onnx".into());
        assert_eq!(
            (e.input.aspect, e.input.multiple_of, e.input.width),
            (Aspect::Keep, 14, 518)
        );
        assert_eq!(e.output.semantics, OutputSemantics::RelativeInverseDepth);
        assert_eq!(e.input.resize, ResizeFilter::Bicubic);

        let dav2_fixed = graph(
            &[("image", &[1, 3, 518, 518])],
            &[("depth", &[1, 518, 518])],
        );
        assert_eq!(recognise(&dav2_fixed), Some(Family::DepthAnythingV2));
        let e = propose(&dav2_fixed, Family::DepthAnythingV2, "d", "d.onnx".into());
        assert_eq!((e.input.aspect, e.input.multiple_of), (Aspect::Stretch, 1));

        let midas = graph(&[("0", &[1, 3, 256, 256])], &[("797", &[1, 256, 256])]);
        assert_eq!(recognise(&midas), Some(Family::Midas));
        let e = propose(&midas, Family::Midas, "m", "m.onnx".into());
        assert_eq!((e.input.width, e.input.aspect), (256, Aspect::Stretch));
        assert_eq!(e.normalise.mean, IMAGENET_MEAN);

        let map320 = [1i64, 1, 320, 320];
        let outs: Vec<(&str, &[i64])> = ["1959", "1960", "1961", "1962", "1963", "1964", "1965"]
            .iter()
            .map(|n| (*n, &map320[..]))
            .collect();
        let u2 = graph(&[("input.1", &[1, 3, 320, 320])], &outs);
        assert_eq!(recognise(&u2), Some(Family::U2Net));
        let e = propose(&u2, Family::U2Net, "u", "u.onnx".into());
        assert_eq!(e.output.name.as_deref(), Some("1959"));
        assert_eq!(
            (e.normalise.scale, e.output.post, e.input.resize),
            (Scale::Max, Post::Minmax, ResizeFilter::Lanczos3)
        );

        let map1024 = [1i64, 1, 1024, 1024];
        let outs: Vec<(&str, &[i64])> = (0..6).map(|_| ("o", &map1024[..])).collect();
        let isnet = graph(&[("input", &[1, 3, 1024, 1024])], &outs);
        assert_eq!(recognise(&isnet), Some(Family::IsNet));
        let e = propose(&isnet, Family::IsNet, "i", "i.onnx".into());
        assert_eq!((e.normalise.mean, e.normalise.std), ([0.5; 3], [1.0; 3]));

        let birefnet = graph(
            &[("input_image", &[1, 3, 1024, 1024])],
            &[("output_image", &map1024)],
        );
        assert_eq!(recognise(&birefnet), Some(Family::BiRefNet));
        let e = propose(&birefnet, Family::BiRefNet, "b", "b.onnx".into());
        assert_eq!((e.task, e.output.post), (Task::Matte, Post::Sigmoid));
    }

    #[test]
    fn other_graphs_are_not_guessed() {
        // FastDepth: a fixed 224 input and a [1,1,224,224] output.
        let fastdepth = graph(&[("0", &[1, 3, 224, 224])], &[("350", &[1, 1, 224, 224])]);
        assert_eq!(recognise(&fastdepth), None);
        // Two inputs (SAM's decoder and the like).
        let two = graph(
            &[("a", &[1, 3, 256, 256]), ("b", &[1, 2])],
            &[("o", &[1, 256, 256])],
        );
        assert_eq!(recognise(&two), None);
        // A classifier.
        let cls = graph(&[("x", &[1, 3, 224, 224])], &[("logits", &[1, 1000])]);
        assert_eq!(recognise(&cls), None);
        let text = template(&fastdepth, "fastdepth-copy", Path::new("f.onnx"), None);
        assert!(
            text.contains("TODO") && text.contains("width = 224"),
            "{text}"
        );
        assert!(text.contains("name = \"350\""), "{text}");
    }

    #[test]
    fn ids_come_from_file_names() {
        assert_eq!(
            id_from_file(Path::new("/x/Depth_Anything V2.onnx")),
            "depth-anything-v2"
        );
        assert_eq!(id_from_file(Path::new("__.onnx")), "model");
    }

    #[test]
    fn a_proposed_entry_reads_back_as_the_same_entry() {
        let midas = graph(&[("0", &[1, 3, 256, 256])], &[("797", &[1, 256, 256])]);
        let mut e = propose(&midas, Family::Midas, "m", "m.onnx".into());
        e.sha256 = Some("a".repeat(64));
        let text = entry_toml(&e, "written by a test").unwrap();
        let back = super::super::Manifest::parse(&text, Path::new("m.toml")).unwrap();
        assert_eq!(back, vec![e]);
    }
}
