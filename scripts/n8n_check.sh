#!/usr/bin/env bash
# Proves the README's n8n recipes with the real n8n 2.8.4, headless (not part of `make test`).
#
# 1. Installs n8n 2.8.4 with npm into N8N_CACHE_DIR once (4-8 min, 2.3 GB; sqlite3 compiles from source).
# 2. Starts this server on a free loopback port (real int8 ONNX engine, offline, temp storage).
# 3. For each scripts/n8n/*.json: points it at that server, imports it into a throwaway n8n user folder,
#    runs it with `n8n execute --id=ID --rawOutput`, and prints one line: files delivered (and whether each
#    is named <file_id>.<ext>), syntheses the server did (media_jobs_total{outcome="ready"} before/after,
#    read once the server is idle), TTS jobs created, wall time, the status codes the server gave n8n's
#    POSTs (200/201/202/429/504, from its log), and the n8n execution's own status, time and error.
#    Recipes with a credential (n8n's OpenAI node: openai-audio) first get scripts/n8n/credentials/*.json
#    imported (`n8n import:credentials`), its base URL pointed at the server's /v1; for openai-audio the line
#    also says whether "Generate audio" gave a file ffmpeg decodes to sound and whether "Transcribe a
#    recording" heard the sentence (word error rate <= 0.3).
#
# Usage: scripts/n8n_check.sh [RECIPE ...]      (default: every scripts/n8n/*.json, by name)
# Variables:
#   N8N_CACHE_DIR    where n8n is installed (default $HOME/.cache/media-api-n8n)
#   N8N_VERSION      n8n version to install (default 2.8.4)
#   KEEP_TMP=1       keep the temp folder (server log, n8n output) for a look afterwards
#   MAX_QUEUED_JOBS, WAIT_TIMEOUT_S, DEDUP_WINDOW_S, MAX_QUEUE_WAIT_S, MAX_CONCURRENT_TTS,
#   MAX_CONCURRENT_HEAVY_TASKS, MAX_CPU_THREADS   passed to the server when set (the two caps default to 2);
#                    for instance MAX_QUEUED_JOBS=2 makes the 12-item bursts meet 429s (Retry On Fail and
#                    the error output then have work to do), DEDUP_WINDOW_S=0 turns request reuse off.
#   N8N_TEXT_REPEAT=N  each item's sentence said N times: slow jobs, as on a busy VPS. The slow check of the
#                    README: N8N_TEXT_REPEAT=12 MAX_CONCURRENT_TTS=1 MAX_CONCURRENT_HEAVY_TASKS=1
#                    MAX_CPU_THREADS=1 MAX_QUEUE_WAIT_S=30 scripts/n8n_check.sh polling one-node-many-items
# Needs: .venv (make install), Node 20 with npm, curl, bc; jq only to shorten the /health line.
# Exit status: 0 when every recipe delivered all its files (and openai-audio's speech check passed), 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
py="$repo/.venv/bin/python"
helper="$repo/scripts/n8n/helper.py"
n8n_version="${N8N_VERSION:-2.8.4}"
cache="${N8N_CACHE_DIR:-$HOME/.cache/media-api-n8n}"
n8n="$cache/node_modules/.bin/n8n"

# What each recipe must deliver: the node whose first output holds the files, the MIME prefix, the count.
declare -A deliver_node=(
  [one-node-many-items]="Kokoro TTS" [loop-over-items]="Kokoro TTS" [error-output-loop]="Kokoro TTS"
  [polling]="Download" [captioned-video]="Captioned video" [openai-audio]="Generate audio"
)
declare -A deliver_mime=(
  [one-node-many-items]=audio/wav [loop-over-items]=audio/wav [error-output-loop]=audio/wav
  [polling]=audio/wav [captioned-video]=video/mp4 [openai-audio]=audio/mp3
)
declare -A deliver_count=(
  [one-node-many-items]=12 [loop-over-items]=12 [error-output-loop]=12 [polling]=12 [captioned-video]=1 [openai-audio]=1
)
# Recipes whose audio is also decoded and transcribed back (helper.py speech).
declare -A speech_check=([openai-audio]=1)

# ---- 1. n8n, installed once ------------------------------------------------------------------------
installed_version() { "$n8n" --version 2>/dev/null || true; }
if [[ "$(installed_version)" != "$n8n_version" ]]; then
  echo "Installing n8n $n8n_version into $cache (4-8 min, 2.3 GB) ..."
  mkdir -p "$cache"
  # xlsx's default tarball lives outside the registry: pin the registry's 0.18.5.
  cat >"$cache/package.json" <<EOF
{
  "name": "media-api-n8n-check",
  "private": true,
  "dependencies": { "n8n": "$n8n_version" },
  "overrides": { "xlsx": "0.18.5" }
}
EOF
  (cd "$cache" && SCARF_ANALYTICS=false npm install --no-audit --no-fund --loglevel=error)
  [[ "$(installed_version)" == "$n8n_version" ]] || { echo "n8n $n8n_version did not install" >&2; exit 1; }
fi

# ---- temp folder and cleanup -----------------------------------------------------------------------
tmp="$(mktemp -d -t media-api-n8n.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "Kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 2. our server ---------------------------------------------------------------------------------
port="$("$py" "$helper" free-port)"
url="http://127.0.0.1:$port"
mkdir -p "$tmp/storage" "$tmp/n8n" "$tmp/n8n-files" "$tmp/workflows" "$tmp/runs"
optional_env=()
for name in MAX_QUEUED_JOBS WAIT_TIMEOUT_S DEDUP_WINDOW_S MAX_QUEUE_WAIT_S MAX_CPU_THREADS; do
  [[ -n "${!name:-}" ]] && optional_env+=("$name=${!name}")
done
env HOST=127.0.0.1 PORT="$port" STORAGE_PATH="$tmp/storage" HF_HUB_OFFLINE=1 \
  MAX_CONCURRENT_TTS="${MAX_CONCURRENT_TTS:-2}" MAX_CONCURRENT_HEAVY_TASKS="${MAX_CONCURRENT_HEAVY_TASKS:-2}" \
  CPU_USAGE_LIMIT=1.0 ${optional_env[@]+"${optional_env[@]}"} \
  "$py" server.py >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 240); do
  curl -fs "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server exited:" >&2; tail -20 "$tmp/server.log" >&2; exit 1; }
  sleep 0.5
done
health="$(curl -fs "$url/health")" || { echo "server did not answer /health" >&2; tail -20 "$tmp/server.log" >&2; exit 1; }
echo "server  $url  $(echo "$health" | jq -c '{status, engine: .tts.engine, tts_available: .tts.available}' 2>/dev/null || echo "$health")"
echo "server  caps: MAX_CONCURRENT_TTS=${MAX_CONCURRENT_TTS:-2} MAX_CONCURRENT_HEAVY_TASKS=${MAX_CONCURRENT_HEAVY_TASKS:-2}" \
  "CPU_USAGE_LIMIT=1.0 ${optional_env[*]+"${optional_env[*]}"} N8N_TEXT_REPEAT=${N8N_TEXT_REPEAT:-1}"

# A 360x640 PNG for the captioned video, made with the bundled ffmpeg.
ffmpeg="$("$py" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')"
"$ffmpeg" -loglevel error -f lavfi -i "color=c=steelblue:s=360x640" -frames:v 1 "$tmp/n8n-files/background.png"

# ---- 3. the recipes --------------------------------------------------------------------------------
# n8n 2.x blocks $env in expressions by default (N8N_BLOCK_ENV_ACCESS_IN_NODE), so the workflow files hold
# the URL a user would type (http://localhost:8000) and helper.py rewrites it before the import.
export N8N_USER_FOLDER="$tmp/n8n"
export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_PERSONALIZATION_ENABLED=false
export N8N_RESTRICT_FILE_ACCESS_TO="$tmp/n8n-files" N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false
export N8N_RUNNERS_BROKER_PORT="$("$py" "$helper" free-port)"  # Code nodes run in n8n's internal task runner
export N8N_LOG_LEVEL=info N8N_PORT="$("$py" "$helper" free-port)"

if (($#)); then recipes=("$@"); else
  recipes=()
  for f in scripts/n8n/*.json; do recipes+=("$(basename "$f" .json)"); done
fi

# n8n credentials (scripts/n8n/credentials/*.json), pointed at the server, imported before the first recipe
# that uses one.
credentials_imported=0
import_credentials() {
  local src dst
  for src in scripts/n8n/credentials/*.json; do
    dst="$tmp/workflows/credentials-$(basename "$src")"
    "$py" "$helper" prepare "$src" "$dst" "$url" "$tmp/n8n-files"
    "$n8n" import:credentials --input="$dst" >"$tmp/runs/credentials.import.log" 2>&1 ||
      { echo "credentials $src: import failed:" >&2; tail -5 "$tmp/runs/credentials.import.log" >&2; return 1; }
  done
  credentials_imported=1
}

failures=0
printf '%-20s %-22s %-9s %-8s %-8s %-22s %s\n' recipe delivered syntheses "tts jobs" wall "server answers to POST" "n8n run"
for recipe in "${recipes[@]}"; do
  src="scripts/n8n/$recipe.json"
  [[ -f "$src" ]] || { echo "no such recipe: $src" >&2; failures=$((failures + 1)); continue; }
  wf="$tmp/workflows/$recipe.json"
  "$py" "$helper" prepare "$src" "$wf" "$url" "$tmp/n8n-files"
  if ((!credentials_imported)) && grep -q '"credentials"' "$src"; then
    import_credentials || { failures=$((failures + 1)); continue; }
  fi
  id="$("$py" "$helper" field "$wf" id)"
  "$n8n" import:workflow --input="$wf" >"$tmp/runs/$recipe.import.log" 2>&1 ||
    { echo "$recipe: import failed:" >&2; tail -5 "$tmp/runs/$recipe.import.log" >&2; failures=$((failures + 1)); continue; }

  "$py" "$helper" idle "$url" 300
  read -r tts0 jobs0 video0 < <("$py" "$helper" counts "$url")
  log_from=$(wc -l <"$tmp/server.log")
  start=$(date +%s.%N)
  rc=0
  "$n8n" execute --id="$id" --rawOutput >"$tmp/runs/$recipe.out" 2>"$tmp/runs/$recipe.err" || rc=$?
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  "$py" "$helper" idle "$url" 300  # jobs n8n left behind still count as syntheses
  read -r tts1 jobs1 video1 < <("$py" "$helper" counts "$url")

  summary="$("$py" "$helper" summary "$tmp/runs/$recipe.out" "${deliver_node[$recipe]}" "${deliver_mime[$recipe]}" "$url")"
  answers="$("$py" "$helper" posts "$tmp/server.log" "$log_from")"
  delivered="$(sed -E 's/^delivered=([0-9]+).*/\1/' <<<"$summary")"
  want="${deliver_count[$recipe]}"
  if [[ "${deliver_mime[$recipe]}" == video/* ]]; then
    syntheses="$((video1 - video0)) video"
  else
    syntheses="$((tts1 - tts0)) tts"
  fi
  heard=""
  speech_ok=1
  if [[ -n "${speech_check[$recipe]:-}" ]]; then
    heard="$("$py" "$helper" speech "$tmp/runs/$recipe.out" "$wf" "$N8N_USER_FOLDER" "$ffmpeg")" ||
      heard="FAIL (the speech check stopped: see above)"
    [[ "$heard" == ok* ]] || speech_ok=0
    heard=" speech: $heard"
  fi
  verdict=ok
  if ((rc != 0 || delivered != want || !speech_ok)); then verdict=FAIL; failures=$((failures + 1)); fi
  printf '%-20s %-22s %-9s %-8s %-8s %-22s %s\n' "$recipe" "$delivered/$want ${deliver_mime[$recipe]} $verdict" \
    "$syntheses" "$((jobs1 - jobs0))" "$(printf '%.1f s' "$wall")" "$answers" "exit=$rc ${summary#delivered=* }$heard"
done

echo "n8n $n8n_version, $(nproc) cores. syntheses: media_jobs_total{outcome=\"ready\"} delta once the server is idle;"
echo "tts jobs: jobs created; server answers: status codes of the POSTs n8n sent (from the server's log)."
if [[ " ${recipes[*]} " == *" openai-audio "* ]]; then
  echo "openai-audio: /v1/audio/speech and /v1/audio/transcriptions answer in the request and store nothing (no job,"
  echo "no file id); speech: the mp3 decoded by ffmpeg, the transcript's word error rate against the sentence (<= 0.3)."
fi
((failures == 0))
