//! Edits: every change to a project is one [`Edit`] value, applied in one place
//! ([`Project::apply`]), which returns the edit that undoes it. [`History`] keeps those for
//! undo and redo. Edits are serde values too, so they can be scripted and logged.

use std::collections::VecDeque;
use std::mem;

use serde::{Deserialize, Serialize};

use crate::composite::camera::{CameraKey, CameraMove};
use crate::composite::layers::{BlendMode, Layer, SceneSettings};
use crate::composite::refine::MatteStroke;

use super::clamp::{self, Clamp};
use super::{ColourSettings, ExportSettings, PassSettings, Project, ShotRef};

/// One change to a project. Out-of-range values are clamped as on load (see the module's
/// table); an index that does not exist is an [`EditError`] and changes nothing.
///
/// In JSON an edit is an object tagged by `edit`, e.g.
/// `{ "edit": "set_opacity", "index": 2, "opacity": 0.5 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// Replaces the shot reference.
    SetShot(ShotRef),
    /// Replaces the pass models.
    SetPasses(PassSettings),
    /// Replaces the scene settings.
    SetScene(SceneSettings),
    /// Inserts `layer` at `index` (0 = bottom; the layer count = top).
    AddLayer {
        /// Where the layer goes, 0..=layer count.
        index: usize,
        /// The new layer.
        layer: Layer,
    },
    /// Removes the layer at `index`.
    RemoveLayer {
        /// The layer to remove.
        index: usize,
    },
    /// Moves the layer at `from` so that it ends up at `to`.
    MoveLayer {
        /// The layer's index now.
        from: usize,
        /// Its index afterwards.
        to: usize,
    },
    /// Replaces one layer as a whole: its name, visibility, opacity, blend and settings (the
    /// inspector's path).
    SetLayer {
        /// The layer to replace.
        index: usize,
        /// Its new value.
        layer: Layer,
    },
    /// Shows or hides a layer.
    SetVisible {
        /// The layer.
        index: usize,
        /// Whether it is drawn.
        visible: bool,
    },
    /// Sets a layer's opacity (clamped to 0..=1).
    SetOpacity {
        /// The layer.
        index: usize,
        /// The new opacity.
        opacity: f32,
    },
    /// Sets how a layer combines with those below it.
    SetBlend {
        /// The layer.
        index: usize,
        /// The new blend mode.
        blend: BlendMode,
    },
    /// Renames a layer.
    RenameLayer {
        /// The layer.
        index: usize,
        /// The new name.
        name: String,
    },
    /// Adds a camera key, in frame order (after any keys on the same frame).
    AddKey(CameraKey),
    /// Removes the camera key at `index`.
    RemoveKey {
        /// The key to remove.
        index: usize,
    },
    /// Replaces the camera key at `index`; it then moves to keep the keys in frame order
    /// (after any other keys on its frame).
    SetKey {
        /// The key to replace.
        index: usize,
        /// Its new value.
        key: CameraKey,
    },
    /// Replaces the whole camera move.
    SetCamera(CameraMove),
    /// Replaces the export settings.
    SetExport(ExportSettings),
    /// Replaces the colour settings (the working space). The shot's input colour space is part
    /// of the shot: [`Edit::SetShot`].
    SetColour(ColourSettings),
    /// Replaces where the matted subject sits in depth (clamped as on load).
    SetSubjectDepth(crate::composite::subject::SubjectDepth),
    /// Appends a matte stroke (painted after, so over, every stroke before it). Its values are
    /// clamped as on load; a stroke with no (finite) points is an [`EditError::EmptyStroke`].
    /// Undone by [`Edit::RemoveStroke`] of the last index.
    AddStroke(MatteStroke),
    /// Removes the matte stroke at `index`. Undone by [`Edit::InsertStroke`] at that index.
    RemoveStroke {
        /// The stroke to remove, 0 = the first painted.
        index: usize,
    },
    /// Inserts a matte stroke at `index` (0..=stroke count), so it is painted before the strokes
    /// after it. Clamped and refused when empty as [`Edit::AddStroke`]. Undone by
    /// [`Edit::RemoveStroke`].
    InsertStroke {
        /// Where the stroke goes, 0..=stroke count.
        index: usize,
        /// The stroke.
        stroke: MatteStroke,
    },
    /// Removes every matte stroke whose `frame` is `frame` (`null`: the strokes that apply to
    /// every frame; strokes of other frames stay). Undone by [`Edit::SetStrokes`].
    ClearStrokes {
        /// The frame number, or `null`.
        frame: Option<u32>,
    },
    /// Replaces the whole list of matte strokes (`[]` clears them all). Strokes are clamped as
    /// on load, and those left with no points dropped. Undone by [`Edit::SetStrokes`].
    SetStrokes {
        /// The new list, in painting order.
        strokes: Vec<MatteStroke>,
    },
}

/// Why an edit could not be applied. The project is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No layer at this index (or, to insert, not 0..=count).
    #[error("there is no layer {index}: the project has {count} layers")]
    NoLayer {
        /// The index given.
        index: usize,
        /// How many layers the project has.
        count: usize,
    },
    /// No camera key at this index.
    #[error("there is no camera key {index}: the camera move has {count} keys")]
    NoKey {
        /// The index given.
        index: usize,
        /// How many keys the camera move has.
        count: usize,
    },
    /// No matte stroke at this index (or, to insert, not 0..=count).
    #[error("there is no matte stroke {index}: the project has {count} strokes")]
    NoStroke {
        /// The index given.
        index: usize,
        /// How many strokes the project has.
        count: usize,
    },
    /// A matte stroke to add has no points (or none with finite coordinates).
    #[error("a matte stroke needs at least one point with finite coordinates")]
    EmptyStroke,
}

impl Edit {
    /// The layer this edit leaves changed, where it is one (the app keeps it selected after an
    /// undo or redo): the layer's index after the edit.
    pub fn layer_index(&self) -> Option<usize> {
        match self {
            Edit::AddLayer { index, .. }
            | Edit::SetLayer { index, .. }
            | Edit::SetVisible { index, .. }
            | Edit::SetOpacity { index, .. }
            | Edit::SetBlend { index, .. }
            | Edit::RenameLayer { index, .. } => Some(*index),
            Edit::MoveLayer { to, .. } => Some(*to),
            Edit::RemoveLayer { index } => Some(index.saturating_sub(1)),
            _ => None,
        }
    }
}

impl Project {
    /// Applies `edit` and returns the edit that undoes it exactly. Values are clamped as on
    /// load; a bad index is an error and changes nothing.
    pub fn apply(&mut self, edit: Edit) -> Result<Edit, EditError> {
        self.apply_noting(edit, &mut Vec::new())
    }

    /// [`Project::apply`], adding a warning to `warnings` for each value that was clamped.
    pub fn apply_noting(
        &mut self,
        edit: Edit,
        warnings: &mut Vec<String>,
    ) -> Result<Edit, EditError> {
        let w = warnings;
        Ok(match edit {
            Edit::SetShot(mut shot) => {
                shot.clamp("shot", w);
                Edit::SetShot(mem::replace(&mut self.shot, shot))
            }
            Edit::SetPasses(mut passes) => {
                passes.clamp("passes", w);
                Edit::SetPasses(mem::replace(&mut self.passes, passes))
            }
            Edit::SetScene(mut scene) => {
                scene.clamp("scene", w);
                Edit::SetScene(mem::replace(&mut self.scene, scene))
            }
            Edit::AddLayer { index, mut layer } => {
                if index > self.layers.len() {
                    return Err(self.no_layer(index));
                }
                layer.clamp(&format!("layers[{index}]"), w);
                self.layers.insert(index, layer);
                Edit::RemoveLayer { index }
            }
            Edit::RemoveLayer { index } => {
                self.check_layer(index)?;
                let layer = self.layers.remove(index);
                Edit::AddLayer { index, layer }
            }
            Edit::MoveLayer { from, to } => {
                self.check_layer(from)?;
                self.check_layer(to)?;
                let layer = self.layers.remove(from);
                self.layers.insert(to, layer);
                Edit::MoveLayer { from: to, to: from }
            }
            Edit::SetLayer { index, mut layer } => {
                self.check_layer(index)?;
                layer.clamp(&format!("layers[{index}]"), w);
                let old = mem::replace(self.layer_mut(index)?, layer);
                Edit::SetLayer { index, layer: old }
            }
            Edit::SetVisible { index, visible } => {
                let old = mem::replace(&mut self.layer_mut(index)?.visible, visible);
                Edit::SetVisible {
                    index,
                    visible: old,
                }
            }
            Edit::SetOpacity { index, mut opacity } => {
                let layer = self.layer_mut(index)?;
                clamp::opacity(&mut opacity, &format!("layers[{index}].opacity"), w);
                let old = mem::replace(&mut layer.opacity, opacity);
                Edit::SetOpacity {
                    index,
                    opacity: old,
                }
            }
            Edit::SetBlend { index, blend } => {
                let old = mem::replace(&mut self.layer_mut(index)?.blend, blend);
                Edit::SetBlend { index, blend: old }
            }
            Edit::RenameLayer { index, name } => {
                let old = mem::replace(&mut self.layer_mut(index)?.name, name);
                Edit::RenameLayer { index, name: old }
            }
            Edit::AddKey(mut key) => {
                key.clamp("key", w);
                let index = insertion_index(&self.camera.keys, key.frame);
                self.camera.keys.insert(index, key);
                Edit::RemoveKey { index }
            }
            Edit::RemoveKey { index } => {
                self.check_key(index)?;
                let before = self.camera.clone();
                let key = self.camera.keys.remove(index);
                // Adding the key back lands it at `index` unless another key shares its frame
                // after it; then only the whole previous move restores the order exactly.
                if insertion_index(&self.camera.keys, key.frame) == index {
                    Edit::AddKey(key)
                } else {
                    Edit::SetCamera(before)
                }
            }
            Edit::SetKey { index, mut key } => {
                self.check_key(index)?;
                key.clamp(&format!("camera.keys[{index}]"), w);
                let before = self.camera.clone();
                let old = self.camera.keys.remove(index);
                let exact = insertion_index(&self.camera.keys, old.frame) == index;
                let new_index = insertion_index(&self.camera.keys, key.frame);
                self.camera.keys.insert(new_index, key);
                if exact {
                    Edit::SetKey {
                        index: new_index,
                        key: old,
                    }
                } else {
                    Edit::SetCamera(before)
                }
            }
            Edit::SetCamera(mut camera) => {
                camera.clamp("camera", w);
                Edit::SetCamera(mem::replace(&mut self.camera, camera))
            }
            Edit::SetExport(export) => Edit::SetExport(mem::replace(&mut self.export, export)),
            Edit::SetColour(colour) => Edit::SetColour(mem::replace(&mut self.colour, colour)),
            Edit::SetSubjectDepth(subject) => {
                Edit::SetSubjectDepth(mem::replace(&mut self.subject_depth, subject.clamped(w)))
            }
            Edit::AddStroke(stroke) => {
                let index = self.matte_strokes.len();
                let stroke = checked_stroke(stroke, index, w)?;
                self.matte_strokes.push(stroke);
                Edit::RemoveStroke { index }
            }
            Edit::RemoveStroke { index } => {
                self.check_stroke(index)?;
                let stroke = self.matte_strokes.remove(index);
                Edit::InsertStroke { index, stroke }
            }
            Edit::InsertStroke { index, stroke } => {
                if index > self.matte_strokes.len() {
                    return Err(self.no_stroke(index));
                }
                let stroke = checked_stroke(stroke, index, w)?;
                self.matte_strokes.insert(index, stroke);
                Edit::RemoveStroke { index }
            }
            Edit::ClearStrokes { frame } => {
                let before = self.matte_strokes.clone();
                self.matte_strokes.retain(|s| s.frame != frame);
                Edit::SetStrokes { strokes: before }
            }
            Edit::SetStrokes { mut strokes } => {
                clamp::strokes(&mut strokes, "matte_strokes", w);
                Edit::SetStrokes {
                    strokes: mem::replace(&mut self.matte_strokes, strokes),
                }
            }
        })
    }

    fn no_stroke(&self, index: usize) -> EditError {
        EditError::NoStroke {
            index,
            count: self.matte_strokes.len(),
        }
    }

    fn check_stroke(&self, index: usize) -> Result<(), EditError> {
        if index < self.matte_strokes.len() {
            Ok(())
        } else {
            Err(self.no_stroke(index))
        }
    }

    fn no_layer(&self, index: usize) -> EditError {
        EditError::NoLayer {
            index,
            count: self.layers.len(),
        }
    }

    fn check_layer(&self, index: usize) -> Result<(), EditError> {
        if index < self.layers.len() {
            Ok(())
        } else {
            Err(self.no_layer(index))
        }
    }

    fn layer_mut(&mut self, index: usize) -> Result<&mut Layer, EditError> {
        let error = self.no_layer(index);
        self.layers.get_mut(index).ok_or(error)
    }

    fn check_key(&self, index: usize) -> Result<(), EditError> {
        let count = self.camera.keys.len();
        if index < count {
            Ok(())
        } else {
            Err(EditError::NoKey { index, count })
        }
    }
}

/// `stroke`, clamped as the stroke at `index` would be on load; an error when no point is left.
fn checked_stroke(
    mut stroke: MatteStroke,
    index: usize,
    w: &mut Vec<String>,
) -> Result<MatteStroke, EditError> {
    stroke.clamp(&format!("matte_strokes[{index}]"), w);
    if stroke.points.is_empty() {
        Err(EditError::EmptyStroke)
    } else {
        Ok(stroke)
    }
}

/// Where a key on `frame` goes in frame order: after every key on an earlier or equal frame.
fn insertion_index(keys: &[CameraKey], frame: f32) -> usize {
    keys.partition_point(|k| k.frame <= frame)
}

/// The default number of edits [`History`] can undo.
pub const DEFAULT_UNDO_DEPTH: usize = 500;

/// Undo and redo over a project's edits, and whether it changed since it was last saved.
///
/// Every state of the project gets a number; the history records which state was saved, so
/// undoing back to it makes the project clean again, and an edit after an undo (which clears the
/// redo list) makes that saved state unreachable, so the project stays dirty.
#[derive(Debug, Clone)]
pub struct History {
    /// Inverse edits, oldest first, each with the state it returns to.
    undo: VecDeque<(Edit, u64)>,
    /// Edits undone, most recently undone last, each with the state it returns to.
    redo: Vec<(Edit, u64)>,
    /// How many edits can be undone; older ones are forgotten.
    depth: usize,
    /// The current state's number.
    state: u64,
    /// The next unused state number.
    next_state: u64,
    /// The number of the state last saved (or loaded).
    saved: Option<u64>,
}

impl Default for History {
    fn default() -> Self {
        History::new(DEFAULT_UNDO_DEPTH)
    }
}

impl History {
    /// An empty history that keeps up to `depth` edits to undo (at least 1), for a project
    /// that is as it was loaded (not dirty).
    pub fn new(depth: usize) -> History {
        History {
            undo: VecDeque::new(),
            redo: Vec::new(),
            depth: depth.max(1),
            state: 0,
            next_state: 1,
            saved: Some(0),
        }
    }

    /// Applies `edit` to `project`, recording how to undo it and clearing what could be
    /// redone. On error nothing changes.
    pub fn apply(&mut self, project: &mut Project, edit: Edit) -> Result<(), EditError> {
        let inverse = project.apply(edit)?;
        self.undo.push_back((inverse, self.state));
        if self.undo.len() > self.depth {
            self.undo.pop_front();
        }
        self.redo.clear();
        self.state = self.next_state;
        self.next_state += 1;
        Ok(())
    }

    /// The edit an undo would apply (the inverse of the last edit).
    pub fn next_undo(&self) -> Option<&Edit> {
        self.undo.back().map(|(e, _)| e)
    }

    /// The edit a redo would apply.
    pub fn next_redo(&self) -> Option<&Edit> {
        self.redo.last().map(|(e, _)| e)
    }

    /// Undoes the last edit. `Ok(false)` when there is nothing to undo.
    ///
    /// Fails only if the project was changed behind the history's back so that the recorded
    /// inverse no longer fits; the history then forgets that edit.
    pub fn undo(&mut self, project: &mut Project) -> Result<bool, EditError> {
        let Some((inverse, to_state)) = self.undo.pop_back() else {
            return Ok(false);
        };
        let redo = project.apply(inverse)?;
        self.redo.push((redo, self.state));
        self.state = to_state;
        Ok(true)
    }

    /// Redoes the last undone edit. `Ok(false)` when there is nothing to redo.
    pub fn redo(&mut self, project: &mut Project) -> Result<bool, EditError> {
        let Some((edit, to_state)) = self.redo.pop() else {
            return Ok(false);
        };
        let inverse = project.apply(edit)?;
        self.undo.push_back((inverse, self.state));
        if self.undo.len() > self.depth {
            self.undo.pop_front();
        }
        self.state = to_state;
        Ok(true)
    }

    /// Whether there is an edit to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is an undone edit to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Records that the project, as it is now, was saved.
    pub fn mark_saved(&mut self) {
        self.saved = Some(self.state);
    }

    /// Records that the project, as it is now, was never saved (e.g. a new project from
    /// [`Project::template`]): it is dirty until saved.
    pub fn mark_unsaved(&mut self) {
        self.saved = None;
    }

    /// Whether the project differs from the state last saved (as far as edits tell: undoing
    /// back to the saved state makes it clean again).
    pub fn is_dirty(&self) -> bool {
        self.saved != Some(self.state)
    }
}
