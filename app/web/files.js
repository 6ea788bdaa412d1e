// The file manager: folders, the listing by type and name, uploads (drag and drop or picker, with
// progress), previews, rename, move, delete several, copy id and download URL.

import { API, api, authHeaders, downloadUrl, playableUrl, saveFile } from "./api.js";
import { onJob } from "./jobs.js";
import { ask, copyText, el, formatBytes, formatSeconds, formatTime, mediaKind, setStatus, toast } from "./ui.js";
import { forgetBackground, rememberBackground } from "./video.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 50;
const ALL = null; // the folder filter that lists every file
const TOP = ""; // the top level: files in no folder
const view = { folder: ALL, mediaType: "", query: "", offset: 0, total: 0, items: [] };
const selected = new Set();
const knownFolders = new Set();

function folderQuery() {
  if (view.folder === ALL) return undefined;
  return view.folder === TOP ? "/" : view.folder;
}

function folderLabel(folder) {
  if (folder === ALL) return "All files";
  return folder === TOP ? "Top level" : folder;
}

function itemKind(item) {
  return mediaKind(item.media_type) || item.media_type;
}

async function loadFolders() {
  const parent = view.folder || undefined;
  const list = $("folder-list");
  const entries = [
    [ALL, "All files"],
    [TOP, "Top level"],
  ];
  if (view.folder) {
    const up = view.folder.includes("/") ? view.folder.slice(0, view.folder.lastIndexOf("/")) : TOP;
    entries.push([up, `↑ Up to ${folderLabel(up)}`]);
  }
  try {
    const answer = await api(`${API}/folders`, { query: { parent_folder: parent } });
    for (const folder of answer.folders || answer.data || []) {
      const path = folder.path || folder.folder || folder.name;
      knownFolders.add(path);
      entries.push([path, `${path.split("/").pop()}${folder.file_count !== undefined ? ` (${folder.file_count})` : ""}`]);
    }
  } catch {
    // a server without folders still lists its files
  }
  list.replaceChildren(...entries.map(([path, label]) => el("li", {}, [
    el("button", {
      type: "button", className: "folder secondary", text: label, dataset: { folder: path === ALL ? "*" : path },
      "aria-current": String(path === view.folder), onclick: () => openFolder(path),
    }),
  ])));
}

function openFolder(folder) {
  view.folder = folder;
  view.offset = 0;
  selected.clear();
  refresh();
}

function crumbs() {
  const box = $("folder-path");
  if (!view.folder) {
    box.textContent = folderLabel(view.folder);
    return;
  }
  const parts = view.folder.split("/");
  box.replaceChildren(
    el("button", { type: "button", className: "small secondary", text: "Top", onclick: () => openFolder(TOP) }),
    ...parts.flatMap((part, i) => [" / ", i === parts.length - 1
      ? el("span", { text: part })
      : el("button", { type: "button", className: "small secondary", text: part, onclick: () => openFolder(parts.slice(0, i + 1).join("/")) })]),
  );
}

function displayName(item) {
  return item.name || `${item.kind || "file"} ${item.file_id.slice(0, 8)}`;
}

function actionButton(label, item, action, className = "small secondary") {
  const name = displayName(item);
  return el("button", { type: "button", className, text: label, "aria-label": `${label} ${name}`, onclick: () => action(item) });
}

function fileRow(item) {
  const id = item.file_id;
  const name = displayName(item);
  const ready = !item.status || item.status === "ready";
  const box = el("input", { type: "checkbox", "aria-label": `Select ${name}`, checked: selected.has(id) });
  box.addEventListener("change", () => {
    if (box.checked) selected.add(id);
    else selected.delete(id);
    updateBulk();
  });
  const title = ready
    ? el("button", { type: "button", className: "small secondary", text: name, "aria-label": `Preview ${name}`, onclick: () => preview(item) })
    : el("span", {}, [name, " ", el("span", {
      className: `badge ${item.status}`,
      text: item.status === "processing" ? `processing ${item.progress || 0}%` : item.status,
      title: item.error || "",
    })]);
  return el("tr", { dataset: { fileId: id } }, [
    el("td", { className: "select-cell" }, [box]),
    el("td", { className: "name" }, [title]),
    el("td", { text: itemKind(item) || item.kind, dataset: { label: "Type" } }),
    el("td", { text: formatBytes(item.size), dataset: { label: "Size" } }),
    el("td", { text: formatSeconds(item.duration), dataset: { label: "Length" } }),
    el("td", { text: item.folder || "—", className: "folder-cell", dataset: { label: "Folder" } }),
    el("td", { text: formatTime(item.created_at), dataset: { label: "Created" } }),
    el("td", { className: "actions-cell" }, [
      actionButton("Rename", item, rename),
      actionButton("Move", item, (it) => move([it.file_id])),
      actionButton("Copy id", item, (it) => copyText(it.file_id, "File id")),
      actionButton("Copy URL", item, (it) => copyText(downloadUrl(it.file_id), "Download URL")),
      ready ? actionButton("Download", item, (it) => saveFile(it.file_id, it.filename || it.name)) : null,
      actionButton("Delete", item, (it) => removeFiles([it.file_id]), "small danger"),
    ]),
  ]);
}

async function loadFiles() {
  const status = $("files-status");
  try {
    const page = await api(`${API}/storage`, {
      query: { folder: folderQuery(), media_type: view.mediaType, q: view.query, limit: PAGE_SIZE, offset: view.offset },
    });
    view.items = page.data || [];
    view.total = page.total ?? view.items.length;
    setStatus(status, "");
  } catch (error) {
    view.items = [];
    view.total = 0;
    setStatus(status, error.message, true);
  }
  const body = $("files-body");
  body.replaceChildren(...view.items.map(fileRow));
  if (!view.items.length) body.append(el("tr", {}, [el("td", { colspan: "8", className: "muted", text: "No files here yet." })]));
  const last = Math.min(view.offset + view.items.length, view.total);
  $("files-count").textContent = view.total ? `${view.offset + 1}–${last} of ${view.total}` : "";
  $("files-prev").disabled = view.offset === 0;
  $("files-next").disabled = last >= view.total;
  updateBulk();
}

function updateBulk() {
  for (const id of [...selected]) if (!view.items.some((item) => item.file_id === id)) selected.delete(id);
  $("bulk-move").disabled = !selected.size;
  $("bulk-delete").disabled = !selected.size;
  $("bulk-delete").textContent = selected.size ? `Delete selected (${selected.size})` : "Delete selected";
  $("select-all").checked = Boolean(view.items.length) && selected.size === view.items.length;
}

export async function refresh() {
  crumbs();
  await Promise.all([loadFolders(), loadFiles()]);
}

async function preview(item) {
  const kind = itemKind(item);
  const url = await playableUrl(item.file_id);
  const media = kind === "image"
    ? el("img", { src: url, alt: displayName(item) })
    : kind === "audio"
      ? el("audio", { src: url, controls: true, autoplay: true })
      : kind === "video"
        ? el("video", { src: url, controls: true, autoplay: true, playsinline: true })
        : el("p", { text: "No preview for this type." });
  $("preview-title").textContent = displayName(item);
  $("preview-body").replaceChildren(media, el("p", { className: "mono", text: item.file_id }));
  const dialog = $("preview-dialog");
  dialog.addEventListener("close", () => $("preview-body").replaceChildren(), { once: true });
  dialog.showModal();
}

async function patchFile(fileId, changes) {
  return api(`${API}/storage/${encodeURIComponent(fileId)}`, { method: "PATCH", json: changes });
}

async function rename(item) {
  const name = await ask("Rename", "New name", item.name || "");
  if (name === null || !name) return;
  try {
    await patchFile(item.file_id, { name });
    toast(`Renamed to ${name}.`);
  } catch (error) {
    toast(error.message);
  }
  refresh();
}

async function move(ids) {
  const here = view.folder || "";
  const folder = await ask(
    ids.length === 1 ? "Move the file" : `Move ${ids.length} files`,
    "To folder (a new one is made; empty for the top level)",
    here,
    [...knownFolders].sort(),
  );
  if (folder === null) return;
  let moved = 0;
  for (const id of ids) {
    try {
      await patchFile(id, { folder });
      moved += 1;
    } catch (error) {
      toast(error.message);
      break;
    }
  }
  if (moved) toast(`${moved} file${moved === 1 ? "" : "s"} moved to ${folder || "the top level"}.`);
  selected.clear();
  refresh();
}

async function removeFiles(ids) {
  const what = ids.length === 1 ? "this file" : `these ${ids.length} files`;
  if (!window.confirm(`Delete ${what}? This cannot be undone.`)) return;
  let deleted = 0;
  const errors = [];
  for (const id of ids) {
    try {
      await api(`${API}/storage/${encodeURIComponent(id)}`, { method: "DELETE" });
      deleted += 1;
      selected.delete(id);
      forgetBackground(id);
    } catch (error) {
      errors.push(error.message);
    }
  }
  setStatus($("files-status"), `${deleted} deleted.${errors.length ? ` ${errors.join(" ")}` : ""}`, errors.length > 0);
  refresh();
}

/** Upload with XMLHttpRequest, which reports progress (fetch does not for uploads). */
function uploadWithProgress(file, folder, onProgress) {
  const form = new FormData();
  form.set("file", file, file.name);
  form.set("media_type", mediaKind(file.type));
  form.set("name", file.name);
  if (folder) form.set("folder", folder);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `${API}/storage`);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new Error(body.error || `${request.status} ${request.statusText}`));
    };
    request.onerror = () => reject(new Error("The upload was cut off."));
    request.send(form);
  });
}

async function uploadFiles(files) {
  const folder = view.folder || "";
  const list = $("upload-list");
  for (const file of files) {
    const line = el("li", { text: `${file.name}: waiting` });
    list.prepend(line);
    if (!["image", "audio", "video"].includes(mediaKind(file.type))) {
      line.textContent = `${file.name}: not an image, audio or video file`;
      line.className = "error";
      continue;
    }
    try {
      const stored = await uploadWithProgress(file, folder, (part) => {
        line.textContent = `${file.name}: ${Math.round(part * 100)}%`;
      });
      line.textContent = `${file.name}: stored${folder ? ` in ${folder}` : ""}`;
      rememberBackground(stored.file_id, stored.name || file.name, mediaKind(file.type));
    } catch (error) {
      line.textContent = `${file.name}: ${error.message}`;
      line.className = "error";
    }
  }
  refresh();
}

function bindDropZone() {
  const zone = $("drop-zone");
  const panel = $("panel-files");
  panel.addEventListener("dragover", (event) => {
    if (!event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    zone.classList.add("over");
  });
  panel.addEventListener("dragleave", (event) => {
    if (!panel.contains(event.relatedTarget)) zone.classList.remove("over");
  });
  panel.addEventListener("drop", (event) => {
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("over");
    uploadFiles([...event.dataTransfer.files]);
  });
  $("upload-input").addEventListener("change", () => {
    uploadFiles([...$("upload-input").files]);
    $("upload-input").value = "";
  });
}

async function createFolder(event) {
  event.preventDefault();
  const name = $("folder-name").value.trim();
  if (!name) return;
  const form = new FormData();
  form.set("folder_name", name);
  if (view.folder) form.set("parent_folder", view.folder);
  try {
    await api(`${API}/folders`, { method: "POST", form });
    $("folder-name").value = "";
    toast(`Folder ${name} made.`);
    await loadFolders();
  } catch (error) {
    toast(error.message);
  }
}

function bindToolbar() {
  let searchTimer = null;
  $("files-type").addEventListener("change", () => {
    view.mediaType = $("files-type").value;
    view.offset = 0;
    loadFiles();
  });
  $("files-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      view.query = $("files-search").value.trim();
      view.offset = 0;
      loadFiles();
    }, 250);
  });
  $("files-refresh").addEventListener("click", refresh);
  $("files-prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); loadFiles(); });
  $("files-next").addEventListener("click", () => { view.offset += PAGE_SIZE; loadFiles(); });
  $("select-all").addEventListener("change", () => {
    for (const item of view.items) {
      if ($("select-all").checked) selected.add(item.file_id);
      else selected.delete(item.file_id);
    }
    for (const box of $("files-body").querySelectorAll("input[type=checkbox]")) box.checked = $("select-all").checked;
    updateBulk();
  });
  $("bulk-move").addEventListener("click", () => move([...selected]));
  $("bulk-delete").addEventListener("click", () => removeFiles([...selected]));
  $("folder-form").addEventListener("submit", createFolder);
}

export function setupFiles() {
  bindToolbar();
  bindDropZone();
  let jobRefresh = null;
  onJob((job) => {
    if ($("panel-files").hidden || (job.status !== "ready" && job.status !== "failed")) return;
    clearTimeout(jobRefresh);
    jobRefresh = setTimeout(loadFiles, 300);
  });
  window.addEventListener("tab-shown", (event) => event.detail === "files" && refresh());
  if (!$("panel-files").hidden) refresh();
}
