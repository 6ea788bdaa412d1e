// The page's one job event stream, shared by every view: listeners for all jobs or one job, and
// waitForJob, which follows a job to its end from the events (polling its status while the stream is down).

import { API, api, streamEvents } from "./api.js";

const STATUS_BY_EVENT = { queued: "queued", progress: "processing", ready: "ready", failed: "failed" };
const everyJob = new Set();
const stateListeners = new Set();
let streamState = "connecting";
let stopStream = null;

function jobFrom(type, data) {
  if (!data || typeof data !== "object" || !data.file_id) return null;
  return { ...data, status: data.status || STATUS_BY_EVENT[type] || "queued" };
}

/** Start the stream once the key is known (again after a new key). */
export function startJobStream() {
  if (stopStream) stopStream();
  stopStream = streamEvents(
    `${API}/jobs/events`,
    (type, data) => {
      const job = jobFrom(type, data);
      if (job) for (const listener of everyJob) listener(job);
    },
    (state) => {
      streamState = state;
      for (const listener of stateListeners) listener(state);
    },
  );
}

export function onJob(listener) {
  everyJob.add(listener);
  return () => everyJob.delete(listener);
}

export function onStreamState(listener) {
  stateListeners.add(listener);
  listener(streamState);
  return () => stateListeners.delete(listener);
}

export function isFinished(job) {
  return job.status === "ready" || job.status === "failed";
}

/** Resolve with the job's last status once it is ready or failed; `onUpdate(job)` sees each change. */
export function waitForJob(fileId, onUpdate = () => {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    let timer = null;
    const finish = (job) => {
      if (done) return;
      onUpdate(job);
      if (!isFinished(job)) return;
      done = true;
      stopListening();
      clearTimeout(timer);
      resolve(job);
    };
    const stopListening = onJob((job) => job.file_id === fileId && finish(job));
    const poll = async () => {
      try {
        finish(await api(`${API}/storage/${encodeURIComponent(fileId)}/status`));
      } catch (error) {
        if (error.status === 404 || error.status === 401) {
          done = true;
          stopListening();
          reject(error);
          return;
        }
      }
      if (!done) timer = setTimeout(poll, streamState === "live" ? 5000 : 1000);
    };
    poll();
  });
}
