// Speak a text: submit a speech job, follow it, play the result with the current word highlighted.

import { API, api, downloadUrl, playableUrl, saveFile } from "./api.js";
import { waitForJob } from "./jobs.js";
import { bindRangeOutput, copyText, el, fillLanguages, fillVoices, setStatus } from "./ui.js";

const $ = (id) => document.getElementById(id);

export function jobLabel(job) {
  if (job.status === "queued") return "Queued…";
  if (job.status === "processing") return `Working… ${job.progress || 0}%`;
  if (job.status === "failed") return `Failed: ${job.error || "unknown error"}`;
  return "Ready";
}

/** The index of the word being spoken at `time`, or -1 between sentences and outside the speech. */
export function wordAt(words, time) {
  let index = -1;
  for (let i = 0; i < words.length && words[i].start <= time; i += 1) index = i;
  if (index >= 0 && time > words[index].end + 0.4) return -1;
  return index;
}

const NO_WORDS_BETWEEN = /^[^\p{L}\p{N}]*$/u;

/** The text as it was typed, each timed word a span in it; where the words stop matching the text (numbers
 * read out, for instance) the rest is shown as the spoken words. */
export function wordNodes(text, words) {
  if (!words.length) return { nodes: [text], spans: [] };
  const nodes = [];
  const spans = [];
  const lower = text.toLowerCase();
  let cursor = 0;
  let following = true;
  for (const word of words) {
    const span = el("span", { className: "word", text: word.word, dataset: { start: word.start } });
    const at = following ? lower.indexOf(word.word.toLowerCase(), cursor) : -1;
    following = at >= 0 && NO_WORDS_BETWEEN.test(text.slice(cursor, at));
    if (following) {
      nodes.push(text.slice(cursor, at));
      span.textContent = text.slice(at, at + word.word.length);
      cursor = at + word.word.length;
    } else if (nodes.length) nodes.push(" ");
    nodes.push(span);
    spans.push(span);
  }
  if (following && NO_WORDS_BETWEEN.test(text.slice(cursor))) nodes.push(text.slice(cursor));
  return { nodes, spans };
}

function showWords(container, text, words, audio) {
  const { nodes, spans } = wordNodes(text, words);
  container.replaceChildren(...nodes);
  let current = -1;
  const update = () => {
    const index = wordAt(words, audio.currentTime);
    if (index === current) return;
    if (current >= 0) spans[current].classList.remove("current");
    if (index >= 0) spans[index].classList.add("current");
    current = index;
  };
  const follow = () => {
    update();
    if (!audio.paused && !audio.ended) requestAnimationFrame(follow);
  };
  audio.onplay = follow;
  audio.onseeked = update;
  audio.ontimeupdate = update;
  container.onclick = (event) => {
    const start = event.target.dataset && event.target.dataset.start;
    if (start === undefined) return;
    audio.currentTime = Number(start);
    audio.play();
  };
}

function bindFileActions(box, file) {
  box.dataset.fileId = file.id;
  box.querySelector('[data-copy="id"]').onclick = () => copyText(file.id, "File id");
  box.querySelector('[data-copy="url"]').onclick = () => copyText(downloadUrl(file.id), "Download URL");
  box.querySelector("[data-download]").onclick = () => saveFile(file.id, file.name);
}

export function speechForm(fields) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value !== "" && value !== null) form.set(name, value);
  return form;
}

async function speak(event) {
  event.preventDefault();
  const status = $("speak-status");
  const button = $("speak-submit");
  button.disabled = true;
  $("speak-result").hidden = true;
  try {
    setStatus(status, "Sending…");
    const text = $("speak-text").value;
    const job = await api(`${API}/audio-tools/tts/kokoro`, {
      method: "POST",
      form: speechForm({
        text,
        voice: $("speak-voice").value,
        lang_code: $("speak-lang").value,
        speed: $("speak-speed").value,
        format: $("speak-format").value,
      }),
    });
    const done = await waitForJob(job.file_id, (update) => setStatus(status, jobLabel(update)));
    if (done.status === "failed") throw new Error(jobLabel(done));
    await showSpeech(job.file_id, text);
    setStatus(status, "Ready");
  } catch (error) {
    setStatus(status, error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function showSpeech(fileId, text) {
  const info = await api(`${API}/storage/${fileId}/info`);
  const audio = $("speak-audio");
  audio.src = await playableUrl(fileId);
  audio.load();
  showWords($("speak-words"), text, info.words || [], audio);
  bindFileActions($("speak-result"), { id: fileId, name: info.name || `${fileId}.${info.format || "wav"}` });
  $("speak-result").hidden = false;
}

export function setupSpeak(catalog) {
  fillVoices($("speak-voice"), catalog);
  fillLanguages($("speak-lang"), catalog.languages);
  $("speak-lang").addEventListener("change", () => fillVoices($("speak-voice"), catalog, $("speak-lang").value));
  bindRangeOutput($("speak-speed"), $("speak-speed-value"));
  $("speak-form").addEventListener("submit", speak);
}

export { bindFileActions };
