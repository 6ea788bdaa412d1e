"""Speech answered in the request itself (OpenAI-compatible), on the same heavy-work path as jobs."""

import asyncio
import struct
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np

from app.limits import Ticket
from app.services.ffmpeg import Ffmpeg
from app.services.heavy import HeavyWork, Slot
from app.services.storage import FileStorage
from app.services.tts.service import ENCODER_ARGS, SpeechRequest, TtsService

STREAM_MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
Chunks = Iterator[tuple[np.ndarray, list[dict[str, float | str]], int, int]]


def _pcm16(samples: np.ndarray) -> bytes:
    pcm: bytes = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()  # np.clip of an ndarray is Any to mypy
    return pcm


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


def _kill_quietly(process: asyncio.subprocess.Process) -> None:
    with suppress(ProcessLookupError):
        process.kill()


class InlineSpeech:
    def __init__(self, tts: TtsService, heavy: HeavyWork, storage: FileStorage, ffmpeg: Ffmpeg) -> None:
        self.tts = tts
        self.heavy = heavy
        self.storage = storage
        self.ffmpeg = ffmpeg

    async def speak(self, request: SpeechRequest) -> bytes:
        """The whole file in the requested format; `Busy` at once when there is no room."""
        return await self.heavy.run(self.heavy.admit("tts"), self._speak_blocking, request)

    def _speak_blocking(self, request: SpeechRequest) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.storage.scratch_root()) as work:
            wav = Path(work) / "speech.wav"
            self.tts.synthesize_to_wav(request, wav, self.heavy.threads)
            if request.format == "wav":
                return wav.read_bytes()
            out = Path(work) / f"speech.{request.format}"
            self.ffmpeg.encode_audio(wav, request.format, out, self.heavy.threads())
            return out.read_bytes()

    async def admit_stream(self, request: SpeechRequest) -> AsyncIterator[bytes]:
        """Admit now (`Busy` raises before any byte is sent), then stream chunks as they are synthesized."""
        ticket = self.heavy.admit("tts")
        return self._stream(request, ticket)

    async def _stream(self, request: SpeechRequest, ticket: Ticket) -> AsyncIterator[bytes]:
        async with self.heavy.slot(ticket) as slot:
            chunks = self.tts.stream(request, self.heavy.threads, quick_start=True)

            async def next_pcm() -> bytes | None:
                item = await slot.run(next, chunks, None)
                return None if item is None else _pcm16(item[0])

            try:
                if request.format in ("wav", "pcm"):
                    if request.format == "wav":
                        yield _streaming_wav_header()
                    while (pcm := await next_pcm()) is not None:
                        yield pcm
                    return
                async for data in self._encode_stream(next_pcm, request.format, slot):
                    yield data
            finally:
                with suppress(ValueError):  # a chunk still being made in a heavy thread after a timeout
                    chunks.close()

    async def _encode_stream(
        self, next_pcm: Callable[[], Awaitable[bytes | None]], fmt: str, slot: Slot
    ) -> AsyncIterator[bytes]:
        process = await asyncio.create_subprocess_exec(
            *self.ffmpeg.command("-loglevel", "error", "-threads", "1"),
            *("-f", "s16le", "-ar", "24000", "-ac", "1", "-i", "pipe:0", *ENCODER_ARGS[fmt], "pipe:1"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=self.heavy.budget.enter_heavy_process,
        )
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        forget = slot.scope.on_cancel(lambda: _kill_quietly(process))

        async def feed() -> None:
            try:
                while (pcm := await next_pcm()) is not None:
                    stdin.write(pcm)
                    await stdin.drain()
            finally:
                stdin.close()

        feeder = asyncio.create_task(feed())
        try:
            while data := await stdout.read(16_384):
                yield data
            await feeder
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            feeder.cancel()
            forget()
