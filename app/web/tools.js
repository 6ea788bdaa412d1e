// Every job route the server has, as a form built from GET /api/v1/media/tools: pick a tool, fill its fields
// (stored files offered by name where a field takes file ids), run it, follow it, and see or play the result.

import { API, api, downloadUrl, playableUrl, saveFile } from "./api.js";
import { waitForJob } from "./jobs.js";
import { jobLabel } from "./speak.js";
import { copyText, el, formatBytes, setStatus } from "./ui.js";

const $ = (id) => document.getElementById(id);
const SHOWN_COMMON = ["name", "folder"];
const LONG_TEXT = new Set(["text", "captions", "segments", "timestamps"]);
const TAKES_FILES = /_ids?$/;
let tools = [];

function fieldLabel(field) {
  const words = field.name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fieldHint(field) {
  const limits = [
    field.minimum !== null ? `from ${field.minimum}` : "",
    field.maximum !== null ? `to ${field.maximum}` : "",
    field.default !== null && field.default !== "" ? `default ${field.default}` : "",
  ].filter(Boolean).join(", ");
  return [field.description, limits].filter(Boolean).join(" · ");
}

function choiceInput(field, id) {
  const options = field.choices.map((choice) => el("option", { value: choice, text: choice }));
  if (!field.required && field.default === null) options.unshift(el("option", { value: "", text: "(server default)" }));
  const select = el("select", { id, name: field.name }, options);
  select.value = field.default ?? "";
  return select;
}

function fieldInput(field, id) {
  const common = { id, name: field.name, required: field.required };
  if (field.choices) return choiceInput(field, id);
  if (field.type === "boolean") return el("input", { ...common, type: "checkbox", required: false, checked: Boolean(field.default) });
  if (field.type === "file") return el("input", { ...common, type: "file" });
  if (field.type === "integer" || field.type === "number") {
    const input = el("input", { ...common, type: "number", step: field.type === "integer" ? "1" : "any" });
    if (field.minimum !== null) input.min = field.minimum;
    if (field.maximum !== null) input.max = field.maximum;
    if (field.default !== null) input.value = field.default;
    return input;
  }
  if (LONG_TEXT.has(field.name)) return el("textarea", { ...common, rows: 3, text: field.default ?? "" });
  const input = el("input", { ...common, type: "text", list: TAKES_FILES.test(field.name) ? "tool-files" : null });
  input.value = field.default ?? "";
  return input;
}

function fieldBlock(field) {
  const id = `tool-field-${field.name}`;
  const hint = fieldHint(field);
  const input = fieldInput(field, id);
  if (hint) input.setAttribute("aria-describedby", `${id}-hint`);
  const label = el("label", { for: id, text: `${fieldLabel(field)}${field.required ? " *" : ""}` });
  const note = hint ? el("small", { id: `${id}-hint`, className: "muted hint", text: hint }) : null;
  if (field.type === "boolean") return el("div", {}, [el("label", { className: "inline", for: id }, [input, fieldLabel(field)]), note]);
  return el("div", { className: input.tagName === "TEXTAREA" ? "wide" : "" }, [label, input, note]);
}

function currentTool() {
  return tools.find((tool) => tool.path === $("tool-choice").value);
}

function showTool() {
  const tool = currentTool();
  if (!tool) return;
  const own = tool.fields.filter((field) => !field.common);
  const common = tool.fields.filter((field) => SHOWN_COMMON.includes(field.name));
  $("tool-about").textContent = `${tool.description || tool.summary} (POST ${tool.path}, runs as ${tool.kind})`;
  $("tool-fields").replaceChildren(...own.map(fieldBlock), ...common.map(fieldBlock));
  $("tool-result").hidden = true;
  setStatus($("tool-status"), "");
}

function fillToolChoice() {
  const groups = new Map();
  for (const tool of tools) {
    if (!groups.has(tool.tag)) groups.set(tool.tag, []);
    groups.get(tool.tag).push(tool);
  }
  $("tool-choice").replaceChildren(...[...groups].map(([tag, list]) => el("optgroup", { label: tag },
    list.map((tool) => el("option", { value: tool.path, text: tool.summary })))));
}

/** The form's values, leaving out what was left empty (the server's defaults apply). */
function toolForm(tool) {
  const form = new FormData();
  for (const field of tool.fields) {
    const input = $("tool-fields").querySelector(`[name="${field.name}"]`);
    if (!input) continue;
    if (field.type === "boolean") form.set(field.name, String(input.checked));
    else if (field.type === "file") { if (input.files.length) form.set(field.name, input.files[0]); }
    else if (input.value.trim() !== "") form.set(field.name, input.value.trim());
  }
  return form;
}

async function showResult(fileId) {
  const info = await api(`${API}/storage/${encodeURIComponent(fileId)}/info`);
  const kind = info.media_type;
  const url = await playableUrl(fileId);
  const media = kind === "audio" ? el("audio", { controls: true, src: url })
    : kind === "video" ? el("video", { controls: true, playsinline: true, src: url })
      : kind === "image" ? el("img", { src: url, alt: `The result of ${fileId}` })
        : el("p", { className: "muted", text: "No preview for this type: download it." });
  const name = info.name || fileId;
  const facts = [info.name, fileId, kind, formatBytes(info.size)].filter(Boolean).join(" · ");
  $("tool-output").replaceChildren(media, el("p", { className: "mono", text: facts }));
  const box = $("tool-result");
  box.dataset.fileId = fileId;
  box.querySelector('[data-copy="id"]').onclick = () => copyText(fileId, "File id");
  box.querySelector('[data-copy="url"]').onclick = () => copyText(downloadUrl(fileId), "Download URL");
  box.querySelector("[data-download]").onclick = () => saveFile(fileId, name);
  box.hidden = false;
}

async function runTool(event) {
  event.preventDefault();
  const tool = currentTool();
  const status = $("tool-status");
  const progress = $("tool-progress");
  $("tool-submit").disabled = true;
  $("tool-result").hidden = true;
  try {
    setStatus(status, "Sending…");
    const job = await api(tool.path, { method: "POST", form: toolForm(tool) });
    progress.hidden = false;
    const done = await waitForJob(job.file_id, (update) => {
      progress.value = update.progress || 0;
      setStatus(status, jobLabel(update));
    });
    if (done.status === "failed") throw new Error(jobLabel(done));
    await showResult(job.file_id);
    setStatus(status, "Ready");
  } catch (error) {
    setStatus(status, error.message, true);
  } finally {
    progress.hidden = true;
    $("tool-submit").disabled = false;
  }
}

/** Stored files for the fields that take ids, newest first, shown by name. */
async function listFiles() {
  try {
    const page = await api(`${API}/storage`, { query: { status: "ready", limit: 200 } });
    $("tool-files").replaceChildren(...page.data.map((item) => el("option", {
      value: item.file_id, label: `${item.name || item.filename} (${item.media_type})`,
    })));
  } catch {
    // the ids can still be typed
  }
}

export async function setupTools() {
  try {
    tools = (await api(`${API}/tools`)).tools;
  } catch (error) {
    setStatus($("tool-status"), `The tools could not be listed: ${error.message}`, true);
    return;
  }
  fillToolChoice();
  $("tool-choice").addEventListener("change", showTool);
  $("tool-form").addEventListener("submit", runTool);
  showTool();
  window.addEventListener("tab-shown", (event) => event.detail === "tools" && listFiles());
  if (!$("panel-tools").hidden) await listFiles();
}
