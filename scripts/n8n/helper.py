"""Small helpers for scripts/n8n_check.sh (standard library only).

  helper.py free-port                     a free loopback TCP port
  helper.py prepare IN OUT URL FILES_DIR  copy a workflow, pointing it at URL and FILES_DIR
  helper.py field FILE KEY                a top-level field of a workflow file (id, name)
  helper.py counts URL                    server figures: tts_ready tts_jobs video_ready
  helper.py idle URL TIMEOUT_S            wait until the server has no queued or processing job
  helper.py summary OUT NODE MIME URL     what one `n8n execute --rawOutput` run delivered
  helper.py posts LOG FIRST_LINE          the server's answers to POSTs logged from FIRST_LINE on
  helper.py speech OUT WORKFLOW N8N_FOLDER FFMPEG
                                          the OpenAI node's audio decoded and its transcript scored

The workflow and credential files hold n8n's own defaults as a user would type them: the server at
http://localhost:8000 and the image under /home/node/.n8n-files (N8N_RESTRICT_FILE_ACCESS_TO of
n8n's docker image); `prepare` rewrites both for the check's temporary server and folder.
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

WORKFLOW_SERVER = "http://localhost:8000"
WORKFLOW_FILES = "/home/node/.n8n-files"


def free_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def _longer_texts(workflow: dict, repeat: int) -> None:
    """Each item's text said `repeat` times (N8N_TEXT_REPEAT), so that every job is slow."""
    for node in workflow["nodes"]:
        if node["name"] == "Sentences":
            code = node["parameters"]["jsCode"]
            longer = rf"text: Array({repeat}).fill(\1).join(' ')"
            node["parameters"]["jsCode"] = re.sub(r"text: (`[^`]*`)", longer, code)


def prepare(src: str, dst: str, url: str, files_dir: str) -> None:
    text = Path(src).read_text(encoding="utf-8")
    text = text.replace(WORKFLOW_SERVER, url.rstrip("/")).replace(WORKFLOW_FILES, files_dir.rstrip("/"))
    workflow = json.loads(text)  # still valid; a credentials file is a list
    repeat = int(os.environ.get("N8N_TEXT_REPEAT", "1"))
    if repeat > 1 and isinstance(workflow, dict):
        _longer_texts(workflow, repeat)
    Path(dst).write_text(json.dumps(workflow, indent=2), encoding="utf-8")


def field(path: str, key: str) -> None:
    print(json.loads(Path(path).read_text(encoding="utf-8"))[key])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


def _metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + labels + r"\}" if labels else "") + r" ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def _jobs(url: str, kind: str) -> list[dict]:
    return json.loads(_get(f"{url}/api/v1/media/jobs?kind={kind}&limit=500"))["jobs"]


def counts(url: str) -> None:
    metrics = _get(f"{url}/metrics").decode()
    tts_ready = _metric(metrics, "media_jobs_total", 'kind="tts",outcome="ready"')
    video_ready = _metric(metrics, "media_jobs_total", 'kind="video",outcome="ready"')
    print(int(tts_ready), len(_jobs(url, "tts")), int(video_ready))


def idle(url: str, timeout_s: str) -> None:
    deadline = time.monotonic() + float(timeout_s)
    while time.monotonic() < deadline:
        jobs = _jobs(url, "tts") + _jobs(url, "video")
        if not any(job["status"] in ("queued", "processing") for job in jobs):
            return
        time.sleep(0.5)
    print(f"server still busy after {timeout_s} s", file=sys.stderr)


def _run_data(path: str) -> dict:
    """The IRun JSON that `n8n execute` prints (after any log lines), or {} when there is none."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    for match in re.finditer(r"^\{", text, re.M):
        try:
            data, _ = json.JSONDecoder().raw_decode(text[match.start() :])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "data" in data:
            return data
    return {}


def posts(log_path: str, first_line: str) -> None:
    """Status codes of the POSTs the server logged (LOG_FORMAT=text), like `200x12,429x12`."""
    lines = Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines()[int(first_line) :]
    codes: dict[str, int] = {}
    for line in lines:
        found = re.search(r"app\.http: POST \S+ (\d{3}) ", line)
        if found:
            codes[found.group(1)] = codes.get(found.group(1), 0) + 1
    print(",".join(f"{code}x{n}" for code, n in sorted(codes.items())) or "-")


def summary(out_path: str, node: str, mime: str, url: str) -> None:
    """One line: items, whether the files are named after their job ids, the node's error-output items,
    the execution's status, time and error."""
    run = _run_data(out_path)
    result = run.get("data", {}).get("resultData", {})
    runs = result.get("runData", {}).get(node, [])
    delivered, names, errored = 0, [], 0
    for task in runs:
        outputs = (task.get("data") or {}).get("main") or []
        for item in (outputs[0] if outputs else None) or []:
            binary = (item.get("binary") or {}).get("data") or {}
            if binary.get("mimeType", "").startswith(mime):
                delivered += 1
                names.append(binary.get("fileName", "?"))
        if len(outputs) > 1:
            errored += len(outputs[1] or [])
    error = result.get("error") or {}
    message = " ".join(str(error.get(k, "")) for k in ("message", "description") if error.get(k)).strip()
    status = run.get("status", "no run data")
    took = ""
    if run.get("startedAt") and run.get("stoppedAt"):
        started, stopped = (datetime.fromisoformat(run[k].replace("Z", "+00:00")) for k in ("startedAt", "stoppedAt"))
        took = f" execution={(stopped - started).total_seconds():.1f}s"
    job_ids = {job["file_id"] for kind in ("tts", "video") for job in _jobs(url, kind)}
    named = sum(1 for name in names if name.rsplit(".", 1)[0] in job_ids)
    example = names[0] if names else "-"
    line = (
        f"delivered={delivered} named_file_id={named}/{len(names)} runs={len(runs)} error_items={errored} "
        f"status={status}{took} file={example}"
    )
    if message:
        line += f" error={json.dumps(message[:300])}"
    print(line)


MAX_WER = 0.3
GENERATE_NODE = "Generate audio"
TRANSCRIBE_NODE = "Transcribe a recording"


def _first_item(run: dict, node: str) -> dict:
    """The first item of a node's first output in an execution's run data, or {}."""
    for task in run.get("data", {}).get("resultData", {}).get("runData", {}).get(node, []):
        outputs = (task.get("data") or {}).get("main") or []
        if outputs and outputs[0]:
            return outputs[0][0]
    return {}


def _binary_bytes(binary: dict, n8n_folder: str) -> bytes:
    """A binary's bytes: inline (base64) or, in n8n's filesystem mode, the file its id names."""
    ref = binary.get("id", "")
    if not ref:
        return base64.b64decode(binary.get("data", ""))
    relative = ref.split(":", 1)[1]
    found = [p for p in Path(n8n_folder).rglob(Path(relative).name) if p.as_posix().endswith(relative)]
    return found[0].read_bytes() if found else b""


def _decoded_seconds(audio: bytes, ffmpeg: str) -> float:
    """Seconds of sound ffmpeg decodes from `audio` (16 kHz mono 16-bit), 0 when it cannot."""
    if not audio:
        return 0.0
    pcm = [ffmpeg, "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"]
    done = subprocess.run(pcm, input=audio, capture_output=True, check=False)
    return len(done.stdout) / 2 / 16000 if done.returncode == 0 else 0.0


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(said: str, heard: str) -> float:
    """Word-level edit distance over the number of words said."""
    ref, hyp = _words(said), _words(heard)
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, other in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (word != other))
    return row[-1] / max(len(ref), 1)


def speech(out_path: str, workflow_path: str, n8n_folder: str, ffmpeg: str) -> None:
    """`ok|FAIL audio=...,Ns wer=W heard="..."`: the generated file decodes to sound and the transcript
    matches the sentence the Generate node was given (word error rate at most MAX_WER)."""
    workflow = json.loads(Path(workflow_path).read_text(encoding="utf-8"))
    said = next(n["parameters"]["input"] for n in workflow["nodes"] if n["name"] == GENERATE_NODE)
    run = _run_data(out_path)
    binary = (_first_item(run, GENERATE_NODE).get("binary") or {}).get("data") or {}
    seconds = _decoded_seconds(_binary_bytes(binary, n8n_folder), ffmpeg) if binary else 0.0
    heard = str((_first_item(run, TRANSCRIBE_NODE).get("json") or {}).get("text", ""))
    wer = word_error_rate(said, heard)
    verdict = "ok" if seconds > 0 and wer <= MAX_WER else "FAIL"
    kind = binary.get("fileExtension") or binary.get("mimeType", "-")
    print(f"{verdict} audio={kind},{seconds:.2f}s wer={wer:.2f} heard={json.dumps(heard[:120])}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    commands = {"free-port": free_port, "prepare": prepare, "field": field, "counts": counts, "idle": idle}
    commands.update(summary=summary, posts=posts, speech=speech)
    commands[command](*args)
