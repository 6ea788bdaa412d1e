"""Speech answered in the request itself (OpenAI-compatible): same admission, same heavy threads."""

import asyncio
import struct
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np

from app.limits import CpuBudget, Ticket
from app.services.runner import JobRunner
from app.services.tts.service import ENCODER_ARGS, SpeechRequest, TtsService, encode_audio

STREAM_MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _streaming_wav_header(sample_rate: int = 24_000) -> bytes:
    """A WAV header with unknown length (0xFFFFFFFF), as streaming servers send."""
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


class DirectSpeech:
    def __init__(self, tts: TtsService, runner: JobRunner, budget: CpuBudget, ffmpeg: str) -> None:
        self.tts = tts
        self.runner = runner
        self.budget = budget
        self.ffmpeg = ffmpeg

    def _threads(self) -> int:
        return self.budget.threads_per_job(self.runner.admission.running())

    async def _granted(self) -> Ticket:
        """Admit now (Busy raises at once) and wait for the slots, like a job would."""
        ticket = self.runner.admission.admit("tts")
        try:
            await ticket.granted.wait()
        except BaseException:
            self.runner.admission.release(ticket)
            raise
        return ticket

    async def speak(self, request: SpeechRequest) -> bytes:
        """The whole file in the requested format."""
        ticket = await self._granted()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return await loop.run_in_executor(self.runner.executor, self._speak_blocking, request)
        finally:
            self.runner.admission.release(ticket, loop.time() - started)

    def _speak_blocking(self, request: SpeechRequest) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.runner.storage.scratch_root()) as work:
            wav = Path(work) / "speech.wav"
            self.tts.synthesize_to_wav(request, wav, self._threads)
            if request.format == "wav":
                return wav.read_bytes()
            out = Path(work) / f"speech.{request.format}"
            encode_audio(wav, request.format, out, self.ffmpeg, self._threads())
            return out.read_bytes()

    async def admit_stream(self, request: SpeechRequest) -> AsyncIterator[bytes]:
        """Admit now (Busy raises before any byte is sent), then stream chunks as they are synthesized."""
        ticket = await self._granted()
        return self._stream(request, ticket)

    async def _stream(self, request: SpeechRequest, ticket: Ticket) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        chunks = self.tts.stream(request, self._threads)
        executor = self.runner.executor

        async def next_pcm() -> bytes | None:
            item = await loop.run_in_executor(executor, next, chunks, None)
            return None if item is None else _pcm16(item[0])

        try:
            if request.format in ("wav", "pcm"):
                if request.format == "wav":
                    yield _streaming_wav_header()
                while (pcm := await next_pcm()) is not None:
                    yield pcm
                return
            async for data in self._encode_stream(next_pcm, request.format):
                yield data
        finally:
            chunks.close()
            self.runner.admission.release(ticket, loop.time() - started)

    async def _encode_stream(self, next_pcm: Callable[[], Awaitable[bytes | None]], fmt: str) -> AsyncIterator[bytes]:
        process = await asyncio.create_subprocess_exec(
            self.ffmpeg,
            *("-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1"),
            *("-f", "s16le", "-ar", "24000", "-ac", "1", "-i", "pipe:0", *ENCODER_ARGS[fmt], "pipe:1"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=self.budget.enter_heavy_process,
        )

        async def feed() -> None:
            try:
                while (pcm := await next_pcm()) is not None:
                    process.stdin.write(pcm)
                    await process.stdin.drain()
            finally:
                process.stdin.close()

        feeder = asyncio.create_task(feed())
        try:
            while data := await process.stdout.read(16_384):
                yield data
            await feeder
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            feeder.cancel()
