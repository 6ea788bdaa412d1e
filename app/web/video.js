// Make a captioned video: pick or upload a background, choose the caption style (previewed live, and as the
// server will draw it with "Preview frame"), follow the job's progress, play the video.

import { API, api, apiBlob, playableUrl } from "./api.js";
import { waitForJob } from "./jobs.js";
import { bindFileActions, jobLabel, speechForm } from "./speak.js";
import { bindRangeOutput, el, fillLanguages, fillVoices, mediaKind, setStatus } from "./ui.js";

const $ = (id) => document.getElementById(id);
const backgrounds = new Map(); // file_id -> {name, kind}

/** Store a picked file; `media_type` from its MIME type. Resolves to the upload's answer. */
export function uploadFile(file, folder = "") {
  const form = new FormData();
  form.set("file", file, file.name);
  form.set("media_type", mediaKind(file.type) || "video");
  form.set("name", file.name);
  if (folder) form.set("folder", folder);
  return api(`${API}/storage`, { method: "POST", form });
}

/** The stored images and videos, newest first; on a server without the listing, those uploaded here. */
async function listBackgrounds() {
  try {
    const pages = await Promise.all(["image", "video"].map((mediaType) => (
      api(`${API}/storage`, { query: { media_type: mediaType, status: "ready", limit: 100 } })
    )));
    const items = pages.flatMap((page) => page.data || []).sort((a, b) => b.created_at - a.created_at);
    backgrounds.clear();
    for (const item of items) backgrounds.set(item.file_id, { name: item.name || item.file_id, kind: item.media_type });
  } catch {
    // keep the backgrounds known so far
  }
}

function fillBackgrounds(selectId) {
  const select = $("video-background");
  const options = [...backgrounds].map(([id, item]) => el("option", { value: id, text: `${item.name} (${item.kind})` }));
  select.replaceChildren(el("option", { value: "", text: options.length ? "Choose a background" : "Upload one first" }), ...options);
  if (selectId) select.value = selectId;
  showBackground();
}

async function showBackground() {
  const preview = $("cap-preview");
  preview.querySelector("video")?.remove();
  preview.style.backgroundImage = "";
  const id = $("video-background").value;
  const item = backgrounds.get(id);
  if (!item) return;
  const url = await playableUrl(id);
  if (item.kind === "image") preview.style.backgroundImage = `url("${url}")`;
  else preview.prepend(el("video", { src: url, muted: true, playsinline: true, preload: "metadata", className: "preview-bg", "aria-hidden": "true" }));
}

async function uploadBackground() {
  const file = $("video-background-file").files[0];
  if (!file) return;
  setStatus($("video-status"), `Uploading ${file.name}…`);
  try {
    const stored = await uploadFile(file);
    backgrounds.set(stored.file_id, { name: stored.name || file.name, kind: mediaKind(file.type) });
    fillBackgrounds(stored.file_id);
    setStatus($("video-status"), `${file.name} uploaded.`);
  } catch (error) {
    setStatus($("video-status"), error.message, true);
  }
  $("video-background-file").value = "";
}

function sampleLines(text, maxLength, lineCount) {
  const lines = [[]];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const line = lines[lines.length - 1];
    if (line.length && [...line, word].join(" ").length > maxLength) {
      if (lines.length === lineCount) break;
      lines.push([word]);
    } else line.push(word);
  }
  return lines;
}

function updatePreview() {
  const [width, height] = $("video-size").value.split("x").map(Number);
  const preview = $("cap-preview");
  preview.style.aspectRatio = `${width} / ${height}`;
  preview.style.width = width > height ? "min(100%, 26rem)" : "min(100%, 16rem)";
  preview.className = `caption-preview ${$("cap-position").value}`;
  const scale = preview.clientWidth / 1080 || 16 / 1080;
  const sample = $("cap-preview-text");
  const stroke = Number($("cap-stroke-size").value) * scale;
  Object.assign(sample.style, {
    color: $("cap-color").value,
    fontSize: `${Number($("cap-size").value) * scale}px`,
    fontWeight: $("cap-bold").checked ? "700" : "400",
    fontStyle: $("cap-italic").checked ? "italic" : "normal",
    fontFamily: `"${$("cap-font").value || "Lato"}", system-ui, sans-serif`,
    webkitTextStroke: `${stroke * 2}px ${$("cap-stroke").value}`,
    textShadow: `0 ${Math.max(1, stroke)}px ${Math.max(1, stroke)}px rgba(0, 0, 0, 0.6)`,
  });
  const lines = sampleLines($("video-text").value || "Your captions here", 30, Number($("cap-lines").value) || 1);
  let index = 0;
  sample.replaceChildren(...lines.flatMap((words, row) => [
    ...(row ? [el("br")] : []),
    ...words.flatMap((word, i) => {
      const span = el("span", { text: word });
      if (index++ === 1 && $("cap-karaoke").checked) span.style.color = $("cap-highlight").value;
      return i ? [" ", span] : [span];
    }),
  ]));
}

function videoFields() {
  const [width, height] = $("video-size").value.split("x");
  return {
    background_id: $("video-background").value,
    text: $("video-text").value,
    kokoro_voice: $("video-voice").value,
    kokoro_speed: $("video-speed").value,
    lang_code: $("video-lang").value,
    width,
    height,
    image_effect: $("video-effect").value,
    caption_config_font_name: $("cap-font").value,
    caption_config_font_size: $("cap-size").value,
    caption_config_font_color: $("cap-color").value,
    caption_config_stroke_color: $("cap-stroke").value,
    caption_config_stroke_size: $("cap-stroke-size").value,
    caption_config_subtitle_position: $("cap-position").value,
    caption_config_line_count: $("cap-lines").value,
    caption_config_font_bold: String($("cap-bold").checked),
    caption_config_font_italic: String($("cap-italic").checked),
    caption_config_highlight_color: $("cap-karaoke").checked ? $("cap-highlight").value : "",
  };
}

/** The form as a one-scene short body: the preview draws the frame the short's renderer will. The `subtitle`
 * preset with every form field over it (and the captioned video's line length) is the form's style. */
function previewBody() {
  const [width, height] = $("video-size").value.split("x").map(Number);
  const scene = {
    background_id: $("video-background").value,
    text: $("video-text").value,
    voice: $("video-voice").value || null,
    speed: Number($("video-speed").value),
    lang_code: $("video-lang").value || null,
    image_effect: $("video-effect").value,
  };
  return {
    scenes: [scene],
    width,
    height,
    caption_preset: "subtitle",
    caption_config_font_name: $("cap-font").value,
    caption_config_font_size: Number($("cap-size").value),
    caption_config_font_color: $("cap-color").value,
    caption_config_stroke_color: $("cap-stroke").value,
    caption_config_stroke_size: Number($("cap-stroke-size").value),
    caption_config_subtitle_position: $("cap-position").value,
    caption_config_line_count: Number($("cap-lines").value),
    caption_config_line_max_length: 30,
    caption_config_font_bold: $("cap-bold").checked,
    caption_config_font_italic: $("cap-italic").checked,
    caption_config_highlight_color: $("cap-karaoke").checked ? $("cap-highlight").value : "",
  };
}

/** Ask the server for one frame of the form's video, captions drawn, and show it. */
async function previewFrame() {
  if (!$("video-form").reportValidity()) return;
  const status = $("video-status");
  const button = $("video-preview");
  button.disabled = true;
  try {
    setStatus(status, "Drawing a frame…");
    const png = await apiBlob(`${API}/video-tools/preview`, previewBody());
    const image = $("video-frame-image");
    if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(png);
    $("video-frame").hidden = false;
    setStatus(status, "Preview ready");
  } catch (error) {
    setStatus(status, error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function makeVideo(event) {
  event.preventDefault();
  const status = $("video-status");
  const progress = $("video-progress");
  $("video-submit").disabled = true;
  $("video-result").hidden = true;
  try {
    setStatus(status, "Sending…");
    const job = await api(`${API}/video-tools/generate/tts-captioned-video`, { method: "POST", form: speechForm(videoFields()) });
    progress.hidden = false;
    const done = await waitForJob(job.file_id, (update) => {
      progress.value = update.progress || 0;
      setStatus(status, jobLabel(update));
    });
    if (done.status === "failed") throw new Error(jobLabel(done));
    $("video-player").src = await playableUrl(job.file_id);
    bindFileActions($("video-result"), { id: job.file_id, name: `${job.file_id}.mp4` });
    $("video-result").hidden = false;
    setStatus(status, "Ready");
  } catch (error) {
    setStatus(status, error.message, true);
  } finally {
    progress.hidden = true;
    $("video-submit").disabled = false;
  }
}

export async function setupVideo(catalog) {
  fillVoices($("video-voice"), catalog);
  fillLanguages($("video-lang"), catalog.languages);
  $("video-lang").addEventListener("change", () => fillVoices($("video-voice"), catalog, $("video-lang").value));
  bindRangeOutput($("video-speed"), $("video-speed-value"));
  $("cap-font").replaceChildren(...catalog.fonts.map((font) => el("option", { value: font, text: font })));
  $("video-form").addEventListener("input", updatePreview);
  $("video-form").addEventListener("change", updatePreview);
  $("video-background").addEventListener("change", showBackground);
  $("video-background-file").addEventListener("change", uploadBackground);
  $("video-form").addEventListener("submit", makeVideo);
  $("video-preview").addEventListener("click", previewFrame);
  new ResizeObserver(updatePreview).observe($("cap-preview"));
  await listBackgrounds();
  fillBackgrounds();
  updatePreview();
  window.addEventListener("tab-shown", async (event) => {
    if (event.detail !== "video") return;
    await listBackgrounds();
    fillBackgrounds($("video-background").value);
  });
}

/** Called when the files view stores or deletes something, so the background list stays current. */
export function forgetBackground(fileId) {
  if (backgrounds.delete(fileId)) fillBackgrounds($("video-background").value);
}

export function rememberBackground(fileId, name, kind) {
  if (kind !== "image" && kind !== "video") return;
  backgrounds.set(fileId, { name, kind });
  fillBackgrounds($("video-background").value);
}
