# Mattebox 桌面程式的香港繁體中文版 (zh-HK)。Every message of ../en/mattebox.ftl, in the terms
# Hong Kong post-production uses (../glossary.md lists them). Keyboard keys (Ctrl+Z, Space, F)
# stay as they are printed on the keys.

language-name = 繁體中文（香港）

## Menu bar

menu-file = 檔案
menu-file-new = 新增
menu-file-new-hover = 關閉文件（如有未儲存的變更，會先詢問）
menu-file-open-shot = 開啟鏡頭…
menu-file-open-project = 開啟專案…
menu-file-save = 儲存
menu-file-save-as = 另存新檔…
menu-file-export = 匯出…
menu-file-recent = 最近使用
menu-file-recent-none = （沒有）
menu-file-quit = 結束
file-filter-project = Mattebox 專案
file-filter-onnx = ONNX 模型
menu-edit = 編輯
menu-edit-undo = 復原  (Ctrl+Z)
menu-edit-redo = 重做  (Ctrl+Shift+Z)
menu-edit-input-colour = 輸入色彩空間
menu-edit-working-space = 工作色彩空間
colour-auto = 自動
colour-auto-hover = 8 位元及 16 位元檔案用 sRGB，浮點檔案（EXR、浮點 TIFF）用線性
colour-space-hover = { $name }（OpenColorIO：{ $ocio }）；別名：{ $aliases }
working-space-hover = 素材會轉換到這個色彩空間，合成在其中進行，EXR 亦以它寫出；無論選哪一個，檢視器、PNG 及模型都會收到 sRGB 編碼的 Rec.709
menu-view = 檢視
menu-view-proxy = 代理
menu-view-ram-preview = RAM 預覽
menu-view-ram-preview-hover = 用來保存已合成影格以供播放的記憶體；最久未顯示的會最先移除
menu-view-problems = 問題（{ $count }）
menu-view-clear-ram = 清除 RAM 預覽
menu-view-language = 語言
menu-passes = 通道
menu-passes-depth-model = 深度模型
menu-passes-matte-model = 遮罩模型
menu-passes-model = { $id }  （{ $licence }）
menu-passes-model-missing = { $id }  （{ $licence }，未安裝）
menu-passes-run-frame = 為此幀生成
menu-passes-run-shot = 為整個鏡頭生成
menu-passes-temporal = 穩定序列（時間濾波）
menu-passes-temporal-hover = 在畫面靜止之處，將每幀的深度及遮罩與相鄰幀融合；移動的主體保留其本身的結果
menu-passes-add-model = 加入模型…
menu-help = 説明
menu-help-shortcuts = 鍵盤快捷鍵

## Colour spaces (Edit ▸ Input colour space, Edit ▸ Working space)

colour-space-srgb = sRGB（sRGB 編碼的 Rec.709）
colour-space-rec709 = Rec.709（攝影機曲線，BT.709 OETF）
colour-space-rec1886 = Rec.1886（Gamma 2.4 的 Rec.709 顯示）
colour-space-linear = 線性 Rec.709 (sRGB)
colour-space-linear-rec2020 = 線性 Rec.2020
colour-space-raw = 原始（數據，不作轉換）

## Keyboard shortcuts (Help ▸ Keyboard shortcuts): what each key does

shortcut-play = 播放／暫停
shortcut-step = 上一幀／下一幀
shortcut-ends = 第一幀／最後一幀
shortcut-add-key = 在播放頭加入攝影機關鍵幀
shortcut-brush = 開啟／關閉遮罩筆刷
shortcut-brush-size = 縮小／放大筆刷
shortcut-delete = 刪除所選關鍵幀，否則刪除所選圖層
shortcut-channel = 只顯示一個色版（再按同一鍵：RGB）
shortcut-channel-aux = 顯示亮度／深度／遮罩（再按：RGB）
shortcut-fit = 令影像符合檢視器大小
shortcut-one-to-one = 以 100% 顯示
shortcut-undo = 復原／重做
shortcut-save = 儲存

## Status bar and jobs

status-wgpu = wgpu: { $adapter }
status-job = { $job } { $done }/{ $total }
status-job-eta = { $job } { $done }/{ $total }，約剩 { $seconds } 秒
job-passes = 通道
job-export = 匯出
button-cancel = 取消
provider-not-loaded = ONNX Runtime：尚未載入
provider-line = ONNX Runtime { $version }，使用 { $provider }
adapter-none = 沒有 GPU 渲染器（wgpu 不可用）
preview-on = 預覽使用 { $adapter }
preview-on-cpu = 預覽使用 CPU（{ $threads } 條執行緒）
status-start = 開啟鏡頭或專案（檔案 > 開啟，或拖放到視窗）
status-running-passes = 正在生成通道…
status-adding-model = 正在加入模型 { $file }…
status-exporting = 正在匯出…
status-frame-done = { $frame } 完成
status-saved = 已儲存 { $path }
status-opened = 已開啟 { $path }
toast-passes-running = 通道已在生成中（請先取消）
toast-model-add-failed = 無法加入模型：{ $error }
toast-model-unknown = { $file } 不屬於 Mattebox 認識的模型系列：請填寫 { $template } 中標為 TODO 的欄位，再改名為 .toml
toast-model-added = 已加入模型 { $id }（{ $family }），並已用範例幀檢查：{ $file }
toast-add-model-drop = 未選擇檔案：將 .onnx 檔案拖放到視窗即可加入
toast-add-model-running = 已有模型正在加入
toast-export-running = 已有匯出正在進行
toast-export-finished = { $text }（{ $folder }）
toast-autosave-failed = 自動儲存失敗：{ $error }
toast-no-file-yet = 此專案尚未有檔案：請用「檔案 > 另存新檔…」
toast-key-exists = 第 { $frame } 幀已有關鍵幀
toast-no-dof = 沒有景深圖層可對焦：請用圖層面板的「新增…」按鈕加入一個
toast-no-depth = 此處尚未有深度：通道仍在生成中
toast-focus = { $layer }：對焦 { $distance } m
toast-recovered = 已還原自動儲存：請儲存以保留
job-thread-failed = 無法啟動執行緒：{ $error }
job-passes-summary = 通道：新生成 { $made }，已是最新 { $current }，失敗 { $failed }
job-export-cancelled = 匯出已取消
job-export-failed = 匯出到 { $folder }：{ $failed } 幀失敗，首個錯誤：{ $error }
job-exported = 已匯出 { $frames } 幀到 { $folder }
frame-background-failed = 背景圖像 { $path }：{ $error }
viewer-error = 檢視器：{ $error }

## Window title

title-empty = Mattebox
title-doc = Mattebox — { $project } — 第 { $frame } 幀
doc-untitled = { $name }（未命名）

## Timeline

timeline-first-hover = 第一幀 (Home)
timeline-previous-hover = 上一幀 (Left)
timeline-play = 播放
timeline-pause = 暫停
timeline-play-hover = 播放／暫停 (Space)
timeline-next-hover = 下一幀 (Right)
timeline-last-hover = 最後一幀 (End)
timeline-frame = 幀 { $frame }  ({ $position }/{ $count })
timeline-frame-hover = 序列本身的幀號
timeline-fps = { $fps } fps
timeline-fps-hover = 實測的播放速率（影格緩存後即為鏡頭的 fps）
timeline-ram = RAM { $frames } 幀，{ $used }/{ $budget } MB
timeline-ram-hover = RAM 預覽：保存在記憶體中的已合成影格（時間軸上的綠色）；預算在「檢視」選單中設定
timeline-add-key = 加入關鍵幀
timeline-add-key-hover = 在此幀加入攝影機關鍵幀
timeline-delete-key = 刪除關鍵幀
timeline-track = 攝影機關鍵幀及影格

## Layers

layer-kind-plate = 素材
layer-kind-cutout = 去背
layer-kind-background = 背景
layer-kind-fog = 深度霧化
layer-kind-dof = 景深
layer-kind-grade = 深度調色
layers-heading = 圖層
layers-add = 新增…
layers-remove = 移除
layers-up = 上移
layers-up-hover = 在圖層堆疊中上移
layers-down = 下移
layers-down-hover = 在圖層堆疊中下移
layers-visible-hover = 顯示
layers-solo-hover = 獨顯：只顯示此圖層
blend-over = 覆蓋
blend-add = 相加
blend-multiply = 正片疊底
blend-screen = 濾色

## Inspector

inspector-heading = 屬性
inspector-select = 請選擇圖層
inspector-name = 名稱
inspector-opacity = 不透明度
inspector-blend = 混合
inspector-plate = 原樣的來源素材。
cutout-erode = 收縮 px
cutout-erode-hover = 正數收縮遮罩，負數擴張遮罩
cutout-feather = 羽化 px
cutout-decontaminate = 去除邊緣溢色
cutout-decontaminate-radius = 去溢色半徑 px
background-solid = 純色
background-image = 圖像
background-blurred = 模糊素材
background-image-file = 圖像檔案（相對於專案）
button-browse = 瀏覽…
background-radius = 半徑 px
fx-near = 近 m
fx-far = 遠 m
fog-density = 密度
fog-falloff = 衰減
falloff-linear = 線性
falloff-smooth = 平滑
falloff-exponential = 指數
dof-focus = 對焦 m
dof-f-stop = 光圈值
dof-max-blur = 最大模糊 px
grade-softness = 柔和度 m
grade-exposure = 曝光（級）
grade-contrast = 對比度
grade-saturation = 飽和度
grade-gain = 增益

## Depth (scene) and camera keys

scene-heading = 深度（場景）
scene-mapping = 映射
mapping-scene = 場景
mapping-metric = 公制
scene-curve = 曲線
scene-curve-hover = 大於 1 把中間深度推遠，小於 1 拉近
scene-fov = 視角 °
subject-heading = 主體深度
subject-label = 主體
subject-model = 模型深度
subject-distance = 指定距離
subject-in-front = 置於前方
subject-hover = 當深度模型把遮罩中的主體放錯位置時，將其作為卡片放置
subject-distance-m = 距離（米）
subject-margin-m = 前移（米）
camera-key-heading = 第 { $frame } 幀的攝影機關鍵幀
camera-dolly = 推軌 m
camera-truck = 橫移 m
camera-pedestal = 升降 m
camera-pan = 搖攝 °
camera-tilt = 俯仰 °
camera-roll = 滾轉 °
camera-orbit = 環繞 °
camera-zoom = 變焦 ×
camera-ease = 緩動
ease-linear = 線性
ease-in = 漸入
ease-out = 漸出
ease-in-out = 漸入漸出
ease-hold = 保持

## Viewer

view-plate = 素材
view-depth = 深度
view-matte = 遮罩
view-composite = 合成
viewer-wipe = 劃像：{ $view }
viewer-no-wipe = 不劃像
viewer-fit = 符合
viewer-proxy = 代理 { $proxy }
viewer-proxy-hover = 檢視器的尺寸：自動（GPU 上為全尺寸，軟件渲染時最闊 960 px）、全尺寸、1/2 或 1/4；匯出一律為全尺寸
proxy-auto = 自動
proxy-full = 全尺寸
viewer-brush = 遮罩筆刷
brush-off = 關
brush-add = 加
brush-subtract = 減
brush-radius = 半徑
brush-radius-hover = 筆刷半徑，以素材像素計（[ 及 ] 可調整）
brush-softness = 柔和度
brush-softness-hover = 0 為硬邊，1 為柔邊
viewer-depth-brush = 深度筆刷
brush-push = 推遠
brush-push-hover = 把筆刷下的深度推遠
brush-pull = 拉近
brush-pull-hover = 把筆刷下的深度拉近
brush-strength = 強度
brush-strength-hover = 1 即在筆刷中心把距離加倍（推遠）或減半（拉近）
viewer-empty = 開啟鏡頭或專案：檔案 > 開啟，拖放到這裏，或在命令列上指定
viewer-rendering = 渲染中…
viewer-unreadable = 無法讀取：{ $reason }
viewer-no-passes = 此幀尚未有通道。
viewer-run-passes = 生成通道
display-exposure = 曝光
display-stops = { " " }級
display-exposure-hover = 顯示增益，以級（光圈級）計，僅影響畫面
display-gamma = 伽瑪
display-gamma-hover = 顯示伽瑪，僅影響畫面
display-reset = 重設
transform-raw = 原始
display-transform-hover = 顯示轉換
display-channel = 色版 { $channel }
display-channel-hover = 單獨顯示一個色版（R、G、Shift+B、A、Y、Z、M；再按同一鍵：RGB）
channel-luminance = 亮度 (Y)
channel-depth = 深度 (Z)
channel-matte = 遮罩 (M)
display-matte-overlay = 遮罩疊加
display-matte-overlay-hover = 以紅色把遮罩疊在畫面上
display-zebra = 斑馬紋
display-zebra-hover = 在顯示時會削波的像素上加上斜紋（深色：超過 1，藍色：低於 0）

## The pixel probe and the depth legend

probe-composite = 合成
probe-plate-rendering = 素材（合成渲染中）
probe-plate-no-passes = 素材（尚未有通道）
probe-rgba = rgba { $r } { $g } { $b } { $a }  顯示 { $dr } { $dg } { $db }
probe-preview = （預覽 { $width }x{ $height }，原尺寸 { $full_width }x{ $full_height }）
probe-depth = 深度 { $depth } m（近度 { $nearness }）  遮罩 { $matte }
legend-near = 近 { $metres } m
legend-far = 遠 { $metres } m
legend-model = 模型深度：{ $meaning }，{ $mapping }映射
depth-meaning-unknown = 未知
depth-meaning-metric = 公制
depth-meaning-relative = 相對
depth-meaning-relative-inverse = 相對倒數

## Dialogs

dialog-open = 開啟
dialog-open-prompt = 鏡頭（單張圖像、資料夾、name.####.png）或專案（.json）：
button-open = 開啟
dialog-save-as = 另存新檔
dialog-save-as-prompt = 專案檔案：
button-save = 儲存
dialog-export = 匯出
export-folder = 輸出資料夾：
export-composite = 合成（分層影格）
export-animatic = 動態分鏡（PNG 影格 + MP4）
export-all-frames = 所有影格
export-from = 由
export-to = 至
export-resolution = 解像度
export-full = 全尺寸
export-half = 一半
export-compression = EXR 壓縮
export-renderer = 渲染器
renderer-auto = 自動
button-export = 匯出
dialog-unsaved = 未儲存的變更
unsaved-text = 此專案有未儲存的變更。
button-save-and-quit = 儲存並結束
button-quit-without-saving = 結束而不儲存
dialog-problems = 問題
problems-none = 沒有問題。
dialog-shortcuts = 鍵盤快捷鍵
unsaved-before-open = 此專案有未儲存的變更。開啟 { $path } 前要儲存嗎？
unsaved-before-close = 此專案有未儲存的變更。關閉前要儲存嗎？
unsaved-save-as = 另存為：
button-discard = 捨棄
dialog-recover = 還原
recover-found =
    找到比專案較新的自動儲存：
    { $path }
recover-enter = 按 Enter 還原；儲存之前不會寫入專案檔案。
button-recover = 還原
button-discard-autosave = 捨棄

## The library's errors about shots, frames and project files, as the app shows them (the English is the
## library's own wording; a reason from the system or a decoder stays as it is)

error-not-found = 沒有這個檔案或資料夾：{ $path }
error-read = 無法讀取 { $path }：{ $reason }
error-no-frames = { $path } 中找不到圖像檔案
error-not-an-image-file = { $path } 不是 Mattebox 可讀取的圖像檔案（可讀取 png、jpg、jpeg、tif、tiff 及 exr）
error-empty = { $path } 是空檔案（0 位元組）
error-not-an-image = { $path } 不是圖像：內容不是 PNG、JPEG、TIFF 或 OpenEXR
error-unsupported-format = { $path } 是 { $format } 圖像，Mattebox 不能讀取
error-unsupported = 不支援 { $path }：它是 { $what }
error-decode = 無法解碼 { $path }：{ $reason }
error-too-large = { $path } 有 { $width }x{ $height } 像素，超過 { $max } 像素的上限
error-memory-limit = 解碼 { $path } 需要 { $needed } 位元組，超過 { $max } 位元組的上限
error-no-numbered-frames = 幀範圍 { $range } 不能套用到 { $path }：其影格沒有幀號
error-range-empty = 幀範圍 { $range } 未有選中 { $path } 的任何影格，其影格由 { $first } 至 { $last }
error-project-read = 無法讀取專案 { $path }：{ $reason }
error-project-malformed = { $path }:{ $line }:{ $column }：不是有效的專案檔案：{ $reason }
error-project-no-version = { $path }：不是 Mattebox 專案：沒有 "version" 欄位（此版本寫入第 { $version } 版）
error-project-too-new = { $path }：由較新版本的 Mattebox 寫入：專案版本 { $found }，此版本最多讀取第 { $supported } 版
