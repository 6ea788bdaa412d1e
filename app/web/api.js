// Calls to the server's API: the key on every call, errors as ApiError, files as playable URLs, and the
// job event stream read with fetch (so it carries the key in a header, which EventSource cannot send).

const KEY_NAME = "media-api-key";
export const API = "/api/v1/media";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_NAME) || localStorage.getItem(KEY_NAME) || "";
}

export function saveKey(key, remember) {
  sessionStorage.setItem(KEY_NAME, key);
  if (remember) localStorage.setItem(KEY_NAME, key);
  else localStorage.removeItem(KEY_NAME);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
  localStorage.removeItem(KEY_NAME);
}

export function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("api-key-needed", { detail: message }));
  return new ApiError(response.status, message);
}

/** One API call; `form` (FormData) or `json` as the body; resolves to the parsed JSON body. */
export async function api(path, { method = "GET", form, json, query, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  let body;
  if (form) body = form;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(withQuery(path, query), { method, headers, body, signal });
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** A POST of `json` that answers a file (an image); resolves to its Blob, or throws ApiError. */
export async function apiBlob(path, json) {
  const headers = { Accept: "image/*, application/json", "Content-Type": "application/json", ...authHeaders() };
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(json) });
  if (!response.ok) throw await errorFrom(response);
  return response.blob();
}

export function downloadUrl(fileId) {
  return `${location.origin}${API}/storage/${encodeURIComponent(fileId)}`;
}

const blobUrls = new Map();

/** A URL an <audio>, <video> or <img> can load: the file itself, or with a key (which those elements cannot
 * send) the file fetched with the key as a blob. */
export async function playableUrl(fileId) {
  if (!storedKey()) return downloadUrl(fileId);
  if (blobUrls.has(fileId)) return blobUrls.get(fileId);
  const response = await fetch(downloadUrl(fileId), { headers: authHeaders() });
  if (!response.ok) throw await errorFrom(response);
  const url = URL.createObjectURL(await response.blob());
  blobUrls.set(fileId, url);
  return url;
}

/** Save the file to the user's disk (with the key when one is set). */
export async function saveFile(fileId, name) {
  const link = document.createElement("a");
  link.href = storedKey() ? await playableUrl(fileId) : `${downloadUrl(fileId)}`;
  link.download = name || fileId;
  document.body.append(link);
  link.click();
  link.remove();
}

function parseEventBlock(block) {
  const event = { type: "message", data: [], id: null, retry: null };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event.type = value;
    else if (field === "data") event.data.push(value);
    else if (field === "id") event.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
  }
  return event;
}

/** Read a Server-Sent Events stream with fetch, reconnecting after a drop. `onEvent(type, data)` gets each
 * event (data parsed as JSON when it is); `onState(state)` gets "live", "reconnecting" or "unavailable". */
export function streamEvents(path, onEvent, onState) {
  let stopped = false;
  let lastId = null;
  let retryMs = 2000;
  let controller = null;

  async function readOnce() {
    controller = new AbortController();
    const headers = { Accept: "text/event-stream", ...authHeaders() };
    if (lastId) headers["Last-Event-ID"] = lastId;
    const response = await fetch(path, { headers, signal: controller.signal, cache: "no-store" });
    if (!response.ok) throw await errorFrom(response);
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEventBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event.id !== null) lastId = event.id;
        if (event.retry !== null) retryMs = event.retry;
        if (!event.data.length) continue;
        const text = event.data.join("\n");
        let data = text;
        try { data = JSON.parse(text); } catch { /* plain text data */ }
        onEvent(event.type, data);
      }
    }
  }

  async function loop() {
    while (!stopped) {
      let wait = retryMs;
      try {
        await readOnce();
        if (!stopped) onState("reconnecting");
      } catch (error) {
        if (stopped) return;
        const refused = error instanceof ApiError && error.status !== 503;
        onState(refused ? "unavailable" : "reconnecting");
        if (error instanceof ApiError && error.status === 401) return;
        if (refused) wait = Math.max(retryMs, 15000); // an older server without the stream: ask rarely
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  loop();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
