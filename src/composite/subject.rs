//! Subject depth from a matte: the artist places the matted subject in depth when the depth
//! model disagrees (an outdoor subject that an indoor-trained model puts behind the grass, say).
//!
//! The subject becomes a card, the layered-card approach of previs in After Effects and Nuke,
//! driven by the (brush-refined) AI matte: every pixel the matte covers is put at the card's
//! distance, and the rest of the plate keeps the model's relative depth. The card is either at
//! a distance in metres or in front of the subject's surroundings (the nearest pixel of a ring
//! of background around the matte) by a margin. It is applied to a frame's aux
//! `(distance_m, matte, nearness, 0)` after the matte strokes and before the depth strokes, by
//! `render::apply_overrides`, which the viewer, renders and their exported `depth.Z` all use.

use serde::{Deserialize, Serialize};

use crate::composite::image::Image;
use crate::composite::layers::SceneSettings;

/// Where the matted subject sits in depth. In JSON: `{ "mode": "model" }`,
/// `{ "mode": "distance", "metres": 2.5 }` or `{ "mode": "in_front", "margin_m": 0.5 }`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SubjectDepth {
    /// The depth model's depth, unchanged.
    #[default]
    Model,
    /// A card at this distance from the camera, in metres. Clamped to 0.01..=100000.
    Distance {
        /// The card's distance.
        metres: f32,
    },
    /// A card this far in front of the nearest of the subject's surroundings, in metres
    /// (clamped to 0..=10000). The card never comes nearer than a tenth of that distance.
    InFront {
        /// How far in front.
        margin_m: f32,
    },
}

impl SubjectDepth {
    /// The values made usable (finite, in range); `w` gets a line per change.
    pub fn clamped(self, w: &mut Vec<String>) -> SubjectDepth {
        let fix = |v: f32, lo: f32, hi: f32, default: f32, what: &str, w: &mut Vec<String>| {
            let fixed = if v.is_finite() {
                v.clamp(lo, hi)
            } else {
                default
            };
            if fixed != v {
                w.push(format!("subject_depth.{what} {v} clamped to {fixed}"));
            }
            fixed
        };
        match self {
            SubjectDepth::Model => SubjectDepth::Model,
            SubjectDepth::Distance { metres } => SubjectDepth::Distance {
                metres: fix(metres, 0.01, 100_000.0, 2.0, "metres", w),
            },
            SubjectDepth::InFront { margin_m } => SubjectDepth::InFront {
                margin_m: fix(margin_m, 0.0, 10_000.0, 0.5, "margin_m", w),
            },
        }
    }
}

/// How much of the card a pixel of matte `m` takes: none below 0.25, all from 0.5 (so every
/// pixel the matte holds at 0.5 or more is on the card), smooth between (soft edges).
fn card_weight(m: f32) -> f32 {
    let t = ((m - 0.25) / 0.25).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The nearest distance of the subject's surroundings: the background pixels (matte below
/// 0.25, which the card leaves as they are) within about 2 % of the frame's width of a pixel the
/// matte holds (0.5 or more). Worked on a grid of cells at most 480 wide,
/// so it costs one pass over the frame whatever its size. `None` when the matte holds nothing or
/// leaves nothing around it.
pub fn ring_nearest(aux: &Image) -> Option<f32> {
    let (w, h) = (aux.width as usize, aux.height as usize);
    if w == 0 || h == 0 || aux.pixels.len() < w * h {
        return None;
    }
    let cell = w.div_ceil(480).max(1);
    let (cw, ch) = (w.div_ceil(cell), h.div_ceil(cell));
    // 1 in every cell that holds a pixel of the matte, then a square dilation of those cells.
    let mut core = vec![0.0f32; cw * ch];
    for (i, p) in aux.pixels.iter().enumerate().take(w * h) {
        if p[1] >= 0.5 {
            core[(i / w / cell) * cw + (i % w) / cell] = 1.0;
        }
    }
    let r = ((w as f32 * 0.02 / cell as f32).ceil() as usize).max(2);
    let near = crate::composite::prepare::max_filter(&core, cw, ch, r);
    let mut nearest = f32::INFINITY;
    for (i, p) in aux.pixels.iter().enumerate().take(w * h) {
        if p[1] < 0.25 && near[(i / w / cell) * cw + (i % w) / cell] > 0.5 && p[0].is_finite() {
            nearest = nearest.min(p[0]);
        }
    }
    nearest.is_finite().then_some(nearest)
}

/// Puts the matted subject of `aux` at `subject`'s depth (see the module docs). The distance is
/// blended in inverse distance at the matte's soft edges, and the nearness channel moves with it.
pub fn apply_subject_depth(aux: &mut Image, subject: &SubjectDepth, scene: &SceneSettings) {
    let card = match *subject {
        SubjectDepth::Model => return,
        SubjectDepth::Distance { metres } => metres,
        SubjectDepth::InFront { margin_m } => {
            let Some(nearest) = ring_nearest(aux) else {
                return;
            };
            (nearest - margin_m).max(nearest * 0.1)
        }
    };
    if !(card.is_finite() && card > 0.0) {
        return;
    }
    let card = card.max(1e-3);
    for p in &mut aux.pixels {
        let wgt = card_weight(p[1]);
        if wgt <= 0.0 || !(p[0].is_finite() && p[0] > 0.0) {
            continue;
        }
        let d = 1.0 / (wgt / card + (1.0 - wgt) / p[0]);
        p[2] += scene.nearness_at(d) - scene.nearness_at(p[0]);
        p[0] = d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wall at 3 m with grass at 1.5 m along the bottom, and a subject (the matte) that the
    /// model put at 6 m, behind both.
    fn scene_aux() -> Image {
        let (w, h) = (200u32, 100u32);
        let mut aux = Image::new(w, h);
        for y in 0..h as usize {
            for x in 0..w as usize {
                let subject = (80..120).contains(&x) && (30..95).contains(&y);
                let grass = y >= 90;
                let d = if subject {
                    6.0
                } else if grass {
                    1.5
                } else {
                    3.0
                };
                aux.pixels[y * w as usize + x] = [d, if subject { 1.0 } else { 0.0 }, 0.0, 0.0];
            }
        }
        aux
    }

    #[test]
    fn in_front_puts_every_matte_pixel_nearer_than_its_surroundings() {
        let scene = SceneSettings::default();
        let mut aux = scene_aux();
        assert_eq!(ring_nearest(&aux), Some(1.5));
        apply_subject_depth(&mut aux, &SubjectDepth::InFront { margin_m: 0.5 }, &scene);
        for p in &aux.pixels {
            if p[1] >= 0.5 {
                assert!((p[0] - 1.0).abs() < 1e-5, "{p:?}");
            } else {
                assert!(
                    p[0] == 3.0 || p[0] == 1.5,
                    "the rest keeps its depth: {p:?}"
                );
            }
        }
        // A margin past the surroundings keeps the card in front of the camera.
        let mut aux = scene_aux();
        apply_subject_depth(&mut aux, &SubjectDepth::InFront { margin_m: 50.0 }, &scene);
        assert!(aux.pixels.iter().all(|p| p[0] > 0.1));
    }

    #[test]
    fn a_distance_moves_the_nearness_with_the_distance() {
        let scene = SceneSettings::default();
        let mut aux = scene_aux();
        for p in &mut aux.pixels {
            p[2] = scene.nearness_at(p[0]);
        }
        apply_subject_depth(&mut aux, &SubjectDepth::Distance { metres: 2.0 }, &scene);
        for p in &aux.pixels {
            assert!((p[2] - scene.nearness_at(p[0])).abs() < 1e-5, "{p:?}");
            if p[1] >= 0.5 {
                assert!((p[0] - 2.0).abs() < 1e-5);
            }
        }
        // Soft edges blend: a matte of 0.375 takes half the card, in inverse distance.
        let mut one = Image::new(1, 1);
        one.pixels[0] = [6.0, 0.375, 0.0, 0.0];
        apply_subject_depth(&mut one, &SubjectDepth::Distance { metres: 2.0 }, &scene);
        assert!((one.pixels[0][0] - 1.0 / (0.5 / 2.0 + 0.5 / 6.0)).abs() < 1e-4);
    }
}
