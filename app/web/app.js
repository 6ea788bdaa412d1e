// The page's entry point: ask for the API key when the server wants one, then load the views and the tabs.

import { API, ApiError, api, forgetKey, saveKey, storedKey } from "./api.js";
import { setupFiles } from "./files.js";
import { startJobStream } from "./jobs.js";
import { engineState, onSystemStatus, setupServer } from "./server.js";
import { setupSpeak } from "./speak.js";
import { setupTools } from "./tools.js";
import { setupVideo } from "./video.js";

const $ = (id) => document.getElementById(id);
const TABS = ["speak", "video", "tools", "files", "server"];
let started = false;

function tabFromLocation() {
  const hash = location.hash.slice(1);
  if (TABS.includes(hash)) return hash;
  return location.pathname.replace(/\/+$/, "") === "/files" ? "files" : "speak";
}

function showTab(tab, { focus = false, remember = true } = {}) {
  for (const name of TABS) {
    $(`panel-${name}`).hidden = name !== tab;
    const link = document.querySelector(`#tabs a[data-tab="${name}"]`);
    if (name === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (remember) history.replaceState(null, "", tab === "files" ? "/files" : `/#${tab}`);
  if (focus) {
    const heading = $(`panel-${tab}`).querySelector("h2");
    heading.tabIndex = -1;
    heading.focus();
  }
  window.dispatchEvent(new CustomEvent("tab-shown", { detail: tab }));
}

function showPrompt(message = "") {
  $("forget-key").hidden = true;
  $("loading").hidden = true;
  $("app").hidden = true;
  $("tabs").hidden = true;
  $("engine-pill").hidden = true;
  $("key-prompt").hidden = false;
  $("key-error").hidden = !message;
  $("key-error").textContent = message;
  $("key-input").focus();
}

async function loadCatalog() {
  const catalog = { voices: [], defaultVoice: null, fetchOnFirstUse: false, getMore: "", languages: [], fonts: ["Lato"] };
  const [voices, languages, fonts] = await Promise.allSettled([
    api(`${API}/audio-tools/tts/kokoro/voices`),
    api(`${API}/audio-tools/tts/kokoro/languages`),
    api(`${API}/fonts`),
  ]);
  if (voices.status === "fulfilled") {
    catalog.voices = voices.value.voices;
    catalog.defaultVoice = voices.value.default_voice;
    catalog.fetchOnFirstUse = Boolean(voices.value.fetch_on_first_use);
    catalog.getMore = voices.value.get_more || "";
  }
  if (languages.status === "fulfilled") catalog.languages = languages.value.languages;
  if (fonts.status === "fulfilled" && fonts.value.fonts.length) catalog.fonts = fonts.value.fonts;
  return catalog;
}

function showEnginePill(status) {
  const pill = $("engine-pill");
  const state = engineState(status.model);
  pill.textContent = state.text;
  pill.className = `pill ${state.tone}`;
  pill.hidden = false;
}

async function start() {
  $("forget-key").hidden = !storedKey();
  $("key-prompt").hidden = true;
  $("loading").hidden = true;
  $("tabs").hidden = false;
  $("app").hidden = false;
  startJobStream();
  if (started) return;
  started = true;
  showTab(tabFromLocation(), { remember: false });
  const catalog = await loadCatalog();
  onSystemStatus(showEnginePill);
  setupServer();
  setupSpeak(catalog);
  setupFiles();
  await setupVideo(catalog);
  await setupTools();
  document.body.dataset.ready = "true";
}

/** Show the page when the server answers (no key needed, or the stored key is right), else the prompt. */
async function unlock() {
  try {
    await api("/api/v1/system/status");
    await start();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      const hadKey = Boolean(storedKey());
      forgetKey();
      showPrompt(hadKey ? "That key was not accepted. Try again." : "");
    } else {
      $("loading").textContent = `The server did not answer: ${error.message}`;
    }
  }
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  saveKey($("key-input").value.trim(), $("key-remember").checked);
  $("key-input").value = "";
  unlock();
});

window.addEventListener("api-key-needed", () => {
  if (!started || !$("key-prompt").hidden) return;
  forgetKey();
  showPrompt("The server asked for the API key again.");
});

$("forget-key").addEventListener("click", () => {
  forgetKey();
  location.reload();
});

$("tabs").addEventListener("click", (event) => {
  const link = event.target.closest("a[data-tab]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  showTab(link.dataset.tab, { focus: true });
});

window.addEventListener("hashchange", () => showTab(tabFromLocation(), { remember: false }));

unlock();
