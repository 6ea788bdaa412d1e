// Watch the server: running and queued jobs per kind against their caps, CPU against the budget, the
// engine, and the recent jobs, kept current from the job event stream.

import { API, api } from "./api.js";
import { onJob, onStreamState } from "./jobs.js";
import { el, formatSeconds } from "./ui.js";

const $ = (id) => document.getElementById(id);
const RECENT_JOBS = 25;
const jobs = new Map(); // file_id -> job, newest first by created_at
let refreshTimer = null;
let statusListeners = [];

export function onSystemStatus(listener) {
  statusListeners.push(listener);
}

function meter(label, percent, limitPercent, detail) {
  const fill = el("div", { className: `fill${limitPercent !== null && percent > limitPercent ? " over" : ""}` });
  fill.style.width = `${Math.min(100, percent || 0)}%`;
  const bar = el("div", { className: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent ?? 0), "aria-label": label }, [fill]);
  if (limitPercent !== null) {
    const limit = el("div", { className: "limit", title: "budget" });
    limit.style.left = `${Math.min(100, limitPercent)}%`;
    bar.append(limit);
  }
  return el("div", { className: "meter" }, [
    el("div", { className: "caption" }, [el("span", { text: label }), el("strong", { text: `${percent ?? "–"} %` })]),
    bar,
    el("div", { className: "caption" }, [el("span", { text: detail })]),
  ]);
}

function showCpu(status) {
  const { cpu, budget, cores, memory } = status;
  const budgetPercent = Math.round((budget.threads / (cores.logical || 1)) * 100);
  $("cpu-view").replaceChildren(
    meter("This server (of the machine)", cpu.process_percent_of_machine, budgetPercent,
      `Budget for heavy work: ${budget.threads} thread${budget.threads === 1 ? "" : "s"} of ${cores.logical} cores (${budgetPercent} %), nice ${budget.nice}`),
    meter("Whole machine", cpu.machine_percent, null,
      `Load ${(status.load_average || []).join(" · ")} · memory ${Math.round(memory.process_rss_mb)} MB here, ${memory.machine_percent} % used in all`),
  );
}

function slots(running, cap) {
  return el("div", { className: "slots", "aria-hidden": "true" },
    Array.from({ length: Math.max(cap, running) }, (_, i) => el("span", { className: `slot${i < running ? " busy" : ""}` })));
}

function showKinds(admission) {
  const cards = Object.entries(admission.kinds).map(([kind, stats]) => el("div", { className: "kind", dataset: { kind } }, [
    el("strong", { text: kind }),
    slots(stats.running, stats.cap),
    el("div", { text: `${stats.running} of ${stats.cap} running · ${stats.queued} queued` }),
  ]));
  const heavy = admission.heavy;
  cards.push(el("div", { className: "kind", dataset: { kind: "heavy" } }, [
    el("strong", { text: "all heavy work" }),
    slots(heavy.running, heavy.cap),
    el("div", { text: `${heavy.running} of ${heavy.cap} running · ${admission.queued_total} of ${admission.max_queued} queued · ${admission.rejected} turned away` }),
  ]));
  $("kinds-view").replaceChildren(...cards);
}

function fact(term, value) {
  return [el("dt", { text: term }), el("dd", { text: value ?? "–" })];
}

export function engineState(model) {
  if (!model) return { text: "Engine: unknown", tone: "warn" };
  if (!model.available) return { text: "Engine unavailable", tone: "bad" };
  return { text: `Engine: ${model.engine} ready`, tone: "ok" };
}

function showEngine(status) {
  const model = status.model || {};
  const process = status.engine_process;
  $("engine-view").replaceChildren(
    ...fact("State", engineState(model).text),
    ...(model.reason ? fact("Why", model.reason) : []),
    ...fact("Voices", `${(model.voices || []).length} (default ${model.default_voice || "none"})`),
    ...fact("Process", process ? `pid ${process.pid}, ${process.restarts} restart${process.restarts === 1 ? "" : "s"}, ${process.calls_in_flight} call(s) now` : "in the server"),
    ...fact("Up", formatSeconds(status.uptime_s)),
  );
}

function jobRow(job) {
  const now = Date.now() / 1000;
  const waited = job.started_at ? job.started_at - job.created_at : job.status === "queued" ? now - job.created_at : null;
  const ran = job.started_at ? (job.finished_at || now) - job.started_at : null;
  const label = job.status === "processing" ? `processing ${job.progress || 0}%` : job.status;
  return el("tr", { className: `status-${job.status}`, dataset: { fileId: job.file_id, status: job.status } }, [
    el("td", {}, [el("span", { text: job.name || job.file_id.slice(0, 8), title: job.file_id, className: job.name ? "" : "mono" })]),
    el("td", { text: job.kind }),
    el("td", {}, [el("span", { className: `badge ${job.status}`, text: label })]),
    el("td", { text: formatSeconds(waited) }),
    el("td", { text: formatSeconds(ran) }),
    el("td", { className: "error-cell", text: job.error || "" }),
  ]);
}

function showJobs() {
  const newest = [...jobs.values()].sort((a, b) => b.created_at - a.created_at).slice(0, RECENT_JOBS);
  $("jobs-body").replaceChildren(...newest.map(jobRow));
  if (!newest.length) $("jobs-body").append(el("tr", {}, [el("td", { colspan: "6", className: "muted", text: "No jobs yet." })]));
}

export async function refreshStatus() {
  clearTimeout(refreshTimer);
  try {
    const status = await api("/api/v1/system/status");
    showCpu(status);
    showKinds(status.admission);
    showEngine(status);
    for (const listener of statusListeners) listener(status);
  } catch {
    // shown as stale; the next refresh tries again
  }
  refreshTimer = setTimeout(refreshStatus, document.hidden || $("panel-server").hidden ? 15000 : 3000);
}

let eventRefresh = null;

function onJobEvent(job) {
  jobs.set(job.file_id, { ...jobs.get(job.file_id), ...job });
  showJobs();
  clearTimeout(eventRefresh);
  eventRefresh = setTimeout(refreshStatus, 250);
}

async function loadJobs() {
  try {
    const page = await api(`${API}/jobs`, { query: { limit: RECENT_JOBS } });
    for (const job of page.jobs) jobs.set(job.file_id, { ...jobs.get(job.file_id), ...job });
  } catch {
    // the event stream still fills the list
  }
  showJobs();
}

export function setupServer() {
  onJob(onJobEvent);
  onStreamState((state) => {
    const pill = $("live-state");
    pill.textContent = state === "live" ? "live" : state === "unavailable" ? "no live events" : state;
    pill.className = `pill ${state === "live" ? "ok" : "warn"}`;
    if (state === "live") loadJobs();
  });
  setInterval(() => [...jobs.values()].some((job) => !job.finished_at) && showJobs(), 1000);
  loadJobs();
  refreshStatus();
}
