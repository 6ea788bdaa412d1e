"""The TTS job: synthesize a validated request into a stored audio file with its word timestamps."""

from pydantic import BaseModel

from app.services.ffmpeg import Ffmpeg
from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.tts.service import SpeechRequest, TtsService


class TtsParams(BaseModel):
    """What a `tts` job stores: the validated speech request."""

    speech: SpeechRequest


def make_tts_handler(tts: TtsService, ffmpeg: Ffmpeg) -> Handler:
    def run(job: Job, context: JobContext) -> JobOutput:
        request = TtsParams.model_validate(job.params).speech
        wav = context.work_dir / "speech.wav"
        result = tts.synthesize_to_wav(request, wav, context.threads, context.progress)
        out = wav
        if request.format != "wav":
            out = context.work_dir / f"speech.{request.format}"
            ffmpeg.encode_audio(wav, request.format, out, context.threads())
            wav.unlink()
        facts = {
            "duration": round(result.duration_s, 3),
            "sample_rate": 24_000,
            "format": request.format,
            "voice": request.voice,
            "lang_code": request.lang_code,
            "speed": request.speed,
            "engine": tts.require().engine.name,
            "words": result.words,
        }
        return JobOutput(out, request.format, facts)

    return run
