# Mattebox's desktop app in English (the source language). Every message here has a
# translation in ../zh-HK/mattebox.ftl; tests/i18n.rs checks that both files hold the same
# messages with the same variables. Fluent syntax: https://projectfluent.org/

# The language's own name, in the View ▸ Language menu.
language-name = English

## Menu bar

menu-file = File
menu-file-new = New
menu-file-new-hover = close the document (asks first about unsaved changes)
menu-file-open-shot = Open shot…
menu-file-open-project = Open project…
menu-file-save = Save
menu-file-save-as = Save as…
menu-file-export = Export…
menu-file-recent = Recent
menu-file-recent-none = (none)
menu-file-quit = Quit
file-filter-project = Mattebox project
file-filter-onnx = ONNX model
menu-edit = Edit
menu-edit-undo = Undo  (Ctrl+Z)
menu-edit-redo = Redo  (Ctrl+Shift+Z)
menu-edit-input-colour = Input colour space
menu-edit-working-space = Working space
colour-auto = auto
colour-auto-hover = sRGB for 8- and 16-bit files, linear for float files (EXR, float TIFF)
colour-space-hover = { $name } (OpenColorIO: { $ocio }); also { $aliases }
working-space-hover = the space the plates are converted to, the compositor works in and the EXRs are written in; the viewer, PNGs and models get sRGB-encoded Rec.709 whatever it is
menu-view = View
menu-view-proxy = Proxy
menu-view-ram-preview = RAM preview
menu-view-ram-preview-hover = memory for composited frames kept for playback; the least recently shown go first
menu-view-problems = Problems ({ $count })
menu-view-clear-ram = Clear the RAM preview
menu-view-language = Language
menu-passes = Passes
menu-passes-depth-model = Depth model
menu-passes-matte-model = Matte model
menu-passes-model = { $id }  ({ $licence })
menu-passes-model-missing = { $id }  ({ $licence }, not installed)
menu-passes-run-frame = Run on this frame
menu-passes-run-shot = Run on the whole shot
menu-passes-temporal = Steady sequences (temporal filter)
menu-passes-temporal-hover = Blends each frame's depth and matte with its neighbours' where the plate is still; moving subjects keep their own
menu-passes-add-model = Add model…
menu-help = Help
menu-help-shortcuts = Keyboard shortcuts

## Colour spaces (Edit ▸ Input colour space, Edit ▸ Working space)

colour-space-srgb = sRGB (sRGB-encoded Rec.709)
colour-space-rec709 = Rec.709 (camera curve, BT.709 OETF)
colour-space-rec1886 = Rec.1886 (gamma 2.4 Rec.709 display)
colour-space-linear = Linear Rec.709 (sRGB)
colour-space-linear-rec2020 = Linear Rec.2020
colour-space-raw = Raw (data, no conversion)

## Keyboard shortcuts (Help ▸ Keyboard shortcuts): what each key does

shortcut-play = play / pause
shortcut-step = previous / next frame
shortcut-ends = first / last frame
shortcut-add-key = add a camera key at the playhead
shortcut-brush = matte brush on / off
shortcut-brush-size = smaller / larger brush
shortcut-delete = remove the selected key, else the selected layer
shortcut-channel = show one channel (the same key again: RGB)
shortcut-channel-aux = show luminance / depth / matte (again: RGB)
shortcut-fit = fit the image in the viewer
shortcut-one-to-one = 100 %
shortcut-undo = undo / redo
shortcut-save = save

## Status bar and jobs

status-wgpu = wgpu: { $adapter }
status-job = { $job } { $done }/{ $total }
status-job-eta = { $job } { $done }/{ $total }, about { $seconds } s left
job-passes = passes
job-export = export
button-cancel = Cancel
provider-not-loaded = ONNX Runtime: not loaded yet
provider-line = ONNX Runtime { $version } on { $provider }
adapter-none = no GPU renderer (wgpu unavailable)
preview-on = preview on { $adapter }
preview-on-cpu = preview on the CPU ({ $threads } threads)
status-start = Open a shot or a project (File > Open, or drop it on the window)
status-running-passes = running passes…
status-adding-model = adding the model { $file }…
status-exporting = exporting…
status-frame-done = { $frame } done
status-saved = saved { $path }
status-opened = opened { $path }
toast-passes-running = passes are already running (cancel them first)
toast-model-add-failed = the model could not be added: { $error }
toast-model-unknown = { $file } is of no model family Mattebox knows: fill in the TODO fields of { $template } and rename it to .toml
toast-model-added = model { $id } added ({ $family }), checked on the sample frame: { $file }
toast-add-model-drop = no file chosen: drop an .onnx file on the window to add it
toast-add-model-running = a model is already being added
toast-export-running = an export is already running
toast-export-finished = { $text } ({ $folder })
toast-autosave-failed = autosave failed: { $error }
toast-no-file-yet = this project has no file yet: use File > Save as…
toast-key-exists = a key is already on frame { $frame }
toast-no-dof = no Depth of field layer to focus: add one with the Add… button of the Layers panel
toast-no-depth = no depth here yet: the passes are still being made
toast-focus = { $layer }: focus { $distance } m
toast-recovered = autosave recovered: save to keep it
job-thread-failed = cannot start a thread: { $error }
job-passes-summary = passes: { $made } made, { $current } current, { $failed } failed
job-export-cancelled = export cancelled
job-export-failed = export to { $folder }: { $failed } frame(s) failed, first: { $error }
job-exported = exported { $frames } frame(s) to { $folder }
frame-background-failed = background image { $path }: { $error }
viewer-error = viewer: { $error }

## Window title

title-empty = Mattebox
title-doc = Mattebox — { $project } — frame { $frame }
doc-untitled = { $name } (untitled)

## Timeline

timeline-first-hover = First frame (Home)
timeline-previous-hover = Previous frame (Left)
timeline-play = Play
timeline-pause = Pause
timeline-play-hover = Play / pause (Space)
timeline-next-hover = Next frame (Right)
timeline-last-hover = Last frame (End)
timeline-frame = frame { $frame }  ({ $position }/{ $count })
timeline-frame-hover = the sequence's own frame number
timeline-fps = { $fps } fps
timeline-fps-hover = playback's measured rate (the shot's fps once frames are cached)
timeline-ram = RAM { $frames } fr, { $used }/{ $budget } MB
timeline-ram-hover = RAM preview: composited frames kept in memory (green on the timeline); the budget is under View
timeline-add-key = Add key
timeline-add-key-hover = Add a camera key at this frame
timeline-delete-key = Delete key
timeline-track = camera keys and frames

## Layers

layer-kind-plate = Plate
layer-kind-cutout = Cut-out
layer-kind-background = Background
layer-kind-fog = Depth fog
layer-kind-dof = Depth of field
layer-kind-grade = Depth grade
layers-heading = Layers
layers-add = Add…
layers-remove = Remove
layers-up = Up
layers-up-hover = Move up the stack
layers-down = Down
layers-down-hover = Move down the stack
layers-visible-hover = Visible
layers-solo-hover = Solo: show this layer alone
blend-over = Over
blend-add = Add
blend-multiply = Multiply
blend-screen = Screen

## Inspector

inspector-heading = Inspector
inspector-select = Select a layer
inspector-name = Name
inspector-opacity = opacity
inspector-blend = blend
inspector-plate = The source plate, as it is.
cutout-erode = erode px
cutout-erode-hover = positive shrinks the matte, negative grows it
cutout-feather = feather px
cutout-decontaminate = decontaminate edges
cutout-decontaminate-radius = decontam. radius px
background-solid = solid
background-image = image
background-blurred = blurred plate
background-image-file = image file (relative to the project)
button-browse = Browse…
background-radius = radius px
fx-near = near m
fx-far = far m
fog-density = density
fog-falloff = falloff
falloff-linear = Linear
falloff-smooth = Smooth
falloff-exponential = Exponential
dof-focus = focus m
dof-f-stop = f-stop
dof-max-blur = max blur px
grade-softness = softness m
grade-exposure = exposure stops
grade-contrast = contrast
grade-saturation = saturation
grade-gain = gain

## Depth (scene) and camera keys

scene-heading = Depth (scene)
scene-mapping = mapping
mapping-scene = Scene
mapping-metric = Metric
scene-curve = curve
scene-curve-hover = above 1 pushes mid depths farther, below 1 nearer
scene-fov = fov °
subject-heading = Subject depth
subject-label = subject
subject-model = model's depth
subject-distance = at a distance
subject-in-front = in front
subject-hover = places the matte's subject as a card when the depth model puts it wrong
subject-distance-m = distance m
subject-margin-m = margin m
camera-key-heading = Camera key at { $frame }
camera-dolly = dolly m
camera-truck = truck m
camera-pedestal = pedestal m
camera-pan = pan °
camera-tilt = tilt °
camera-roll = roll °
camera-orbit = orbit °
camera-zoom = zoom ×
camera-ease = ease
ease-linear = Linear
ease-in = EaseIn
ease-out = EaseOut
ease-in-out = EaseInOut
ease-hold = Hold

## Viewer

view-plate = Plate
view-depth = Depth
view-matte = Matte
view-composite = Composite
viewer-wipe = wipe: { $view }
viewer-no-wipe = no wipe
viewer-fit = Fit
viewer-proxy = proxy { $proxy }
viewer-proxy-hover = The viewer's size: auto (full on a GPU, at most 960 px wide on a software adapter), full, 1/2 or 1/4; exports are always full size
proxy-auto = auto
proxy-full = full
viewer-brush = Matte brush
brush-off = off
brush-add = add
brush-subtract = subtract
brush-radius = radius
brush-radius-hover = brush radius in plate pixels ([ and ] change it)
brush-softness = softness
brush-softness-hover = 0 hard edge, 1 soft
viewer-depth-brush = Depth brush
brush-push = push
brush-push-hover = pushes the depth back under the brush
brush-pull = pull
brush-pull-hover = pulls the depth nearer under the brush
brush-strength = strength
brush-strength-hover = 1 doubles (push) or halves (pull) the distance at the centre
viewer-empty = Open a shot or a project: File > Open, drop it here, or pass it on the command line
viewer-rendering = rendering...
viewer-unreadable = unreadable: { $reason }
viewer-no-passes = No passes for this frame yet.
viewer-run-passes = Run passes
display-exposure = exposure
display-stops = { " " }stops
display-exposure-hover = display gain in stops (f-stops), screen only
display-gamma = gamma
display-gamma-hover = display gamma, screen only
display-reset = reset
transform-raw = raw
display-transform-hover = display transform
display-channel = channel { $channel }
display-channel-hover = isolate a channel (R, G, Shift+B, A, Y, Z, M; the same key again: RGB)
channel-luminance = luminance (Y)
channel-depth = depth (Z)
channel-matte = matte (M)
display-matte-overlay = matte overlay
display-matte-overlay-hover = the matte tinted red over the picture
display-zebra = zebra
display-zebra-hover = stripes over pixels that clip on the display (dark: over 1, blue: under 0)

## The pixel probe and the depth legend

probe-composite = composite
probe-plate-rendering = plate (composite rendering)
probe-plate-no-passes = plate (no passes yet)
probe-rgba = rgba { $r } { $g } { $b } { $a }  display { $dr } { $dg } { $db }
probe-preview = (preview { $width }x{ $height } of { $full_width }x{ $full_height })
probe-depth = depth { $depth } m (nearness { $nearness })  matte { $matte }
legend-near = near { $metres } m
legend-far = far { $metres } m
legend-model = model depth: { $meaning }, { $mapping } mapping
depth-meaning-unknown = unknown
depth-meaning-metric = metric
depth-meaning-relative = relative
depth-meaning-relative-inverse = relative_inverse

## Dialogs

dialog-open = Open
dialog-open-prompt = A shot (still, folder, name.####.png) or a project (.json):
button-open = Open
dialog-save-as = Save as
dialog-save-as-prompt = Project file:
button-save = Save
dialog-export = Export
export-folder = Output folder:
export-composite = composite (layered frames)
export-animatic = animatic (PNG frames + MP4)
export-all-frames = all frames
export-from = from
export-to = to
export-resolution = resolution
export-full = full
export-half = half
export-compression = EXR compression
export-renderer = renderer
renderer-auto = auto
button-export = Export
dialog-unsaved = Unsaved changes
unsaved-text = The project has changes that are not saved.
button-save-and-quit = Save and quit
button-quit-without-saving = Quit without saving
dialog-problems = Problems
problems-none = No problems.
dialog-shortcuts = Keyboard shortcuts
unsaved-before-open = The project has changes that are not saved. Save them before opening { $path }?
unsaved-before-close = The project has changes that are not saved. Save them before closing it?
unsaved-save-as = Save as:
button-discard = Discard
dialog-recover = Recover
recover-found =
    An autosave newer than the project was found:
    { $path }
recover-enter = Enter recovers it; nothing is written to the project file until you save.
button-recover = Recover it
button-discard-autosave = Discard it

## The library's errors about shots, frames and project files, as the app shows them (the English is the
## library's own wording; a reason from the system or a decoder stays as it is)

error-not-found = no such file or folder: { $path }
error-read = could not read { $path }: { $reason }
error-no-frames = no image files found in { $path }
error-not-an-image-file = { $path } is not an image file Mattebox reads (it reads png, jpg, jpeg, tif, tiff and exr)
error-empty = { $path } is empty (0 bytes)
error-not-an-image = { $path } is not an image: its contents are not PNG, JPEG, TIFF or OpenEXR
error-unsupported-format = { $path } is a { $format } image, which Mattebox does not read
error-unsupported = { $path } is unsupported: it is { $what }
error-decode = could not decode { $path }: { $reason }
error-too-large = { $path } is { $width }x{ $height } pixels, more than the limit of { $max } pixels
error-memory-limit = decoding { $path } needs { $needed } bytes, more than the limit of { $max } bytes
error-no-numbered-frames = frame range { $range } cannot apply to { $path }: its frames have no frame numbers
error-range-empty = frame range { $range } selects no frames of { $path }, whose frames run from { $first } to { $last }
error-project-read = cannot read the project { $path }: { $reason }
error-project-malformed = { $path }:{ $line }:{ $column }: not a valid project file: { $reason }
error-project-no-version = { $path }: not a Mattebox project: it has no "version" field (this build writes version { $version })
error-project-too-new = { $path }: written by a newer Mattebox: project version { $found }, this build reads up to { $supported }
