# CPU images. Two targets:
#   docker build -t media-api .                     # full: Kokoro on torch (CPU) and on ONNX Runtime
#   docker build --target onnx -t media-api:onnx .  # ONNX-only: no torch, no kokoro package
# Run: docker run -p 8000:8000 -e MAX_CPU_THREADS=2 -e CPU_USAGE_LIMIT=0.5 -v media:/data media-api
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STORAGE_PATH=/data \
    MODEL_CACHE_DIR=/cache \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /srv
RUN useradd --create-home --uid 1000 app && mkdir -p /data /cache && chown app:app /data /cache
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1

FROM base AS onnx
COPY requirements-onnx.txt ./
RUN pip install -r requirements-onnx.txt
COPY app ./app
COPY server.py ./
COPY scripts/fetch_voices.py ./scripts/
# All 54 Kokoro voices from the npm registry, checked against the tarball's sha512, into /cache.
RUN python scripts/fetch_voices.py --pack && chown -R app:app /cache
USER app
CMD ["python", "server.py"]

FROM base AS full
COPY requirements-onnx.txt requirements.txt ./
# The CPU build of torch first, from PyTorch's CPU wheel index; the default index would pull CUDA.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt
COPY app ./app
COPY server.py ./
COPY scripts/fetch_voices.py ./scripts/
# All 54 Kokoro voices from the npm registry, checked against the tarball's sha512, into /cache.
RUN python scripts/fetch_voices.py --pack && chown -R app:app /cache
USER app
CMD ["python", "server.py"]
