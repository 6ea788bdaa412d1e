// Small helpers shared by the views: building elements, messages, copying, formatting, a question dialog.

export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

let toastTimer = null;

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}

export function setStatus(node, message, bad = false) {
  node.textContent = message;
  node.classList.toggle("bad", bad);
}

/** Copy text; falls back to a hidden textarea where the Clipboard API is not allowed (plain http). */
export async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { readonly: true, className: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast(`${what} copied: ${text}`);
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, "0")} s`;
}

export function formatTime(epochSeconds) {
  if (!epochSeconds) return "";
  return new Date(epochSeconds * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

export function mediaKind(mediaType) {
  return (mediaType || "").split("/")[0];
}

/** Ask for one line of text in a dialog; resolves to the text, or null when cancelled. */
export function ask(title, label, value = "", options = []) {
  const dialog = document.getElementById("ask-dialog");
  const input = document.getElementById("ask-input");
  document.getElementById("ask-title").textContent = title;
  document.getElementById("ask-label").textContent = label;
  document.getElementById("ask-options").replaceChildren(...options.map((option) => el("option", { value: option })));
  input.value = value;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" ? input.value.trim() : null),
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    input.select();
  });
}

/** Fill a <select> with the installed voices grouped by language (the default voice's language first, then
 * `langCode`'s), then the voices that are not installed: selectable when the server fetches them on first
 * use, else listed but disabled. */
export function fillVoices(select, catalog, langCode = "") {
  const { voices, defaultVoice, fetchOnFirstUse, getMore } = catalog;
  const chosen = select.value || defaultVoice;
  const groups = new Map();
  for (const voice of voices.filter((v) => v.installed !== false).sort((a, b) => a.name.localeCompare(b.name))) {
    const language = voice.language || "Other";
    if (!groups.has(language)) groups.set(language, []);
    groups.get(language).push(voice);
  }
  const rank = ([, list]) => (list.some((v) => v.name === defaultVoice) ? 0 : list.some((v) => v.lang_code === langCode) ? 1 : 2);
  const installed = [...groups].sort((a, b) => rank(a) - rank(b) || a[0].localeCompare(b[0])).map(([language, list]) => (
    el("optgroup", { label: `${language}, installed` }, list.map((voice) => el("option", {
      value: voice.name, text: voice.name === defaultVoice ? `${voice.name} (default)` : voice.name,
    })))
  ));
  const missing = voices.filter((v) => v.installed === false)
    .sort((a, b) => (a.lang_code === langCode ? 0 : 1) - (b.lang_code === langCode ? 0 : 1) || a.name.localeCompare(b.name));
  const others = el("optgroup", { label: fetchOnFirstUse ? "Not installed: fetched on first use" : "Not installed" },
    missing.map((voice) => el("option", {
      value: voice.name, text: `${voice.name}${voice.language ? ` (${voice.language})` : ""}`,
      disabled: !fetchOnFirstUse, title: getMore || "",
    })));
  select.replaceChildren(...installed, ...(missing.length ? [others] : []));
  if (voices.some((voice) => voice.name === chosen && (voice.installed !== false || fetchOnFirstUse))) select.value = chosen;
}

export function fillLanguages(select, languages) {
  const first = select.options[0];
  select.replaceChildren(
    first,
    ...languages.map((language) => el("option", {
      value: language.code,
      text: language.available ? language.name : `${language.name} (unavailable)`,
      disabled: !language.available,
    })),
  );
}

export function bindRangeOutput(input, output) {
  const show = () => { output.textContent = Number(input.value).toFixed(2).replace(/0$/, ""); };
  input.addEventListener("input", show);
  show();
}
