"""The TTS job: synthesize a validated request into a stored audio file with its word timestamps."""

from app.services.jobs import Job
from app.services.runner import Handler, JobContext, JobOutput
from app.services.tts.service import SpeechRequest, TtsService, encode_audio


def make_tts_handler(tts: TtsService, ffmpeg: str) -> Handler:
    def run(job: Job, context: JobContext) -> JobOutput:
        request = SpeechRequest(**job.params["request"])
        wav = context.work_dir / "speech.wav"
        result = tts.synthesize_to_wav(request, wav, context.threads, context.progress)
        out = wav
        if request.format != "wav":
            out = context.work_dir / f"speech.{request.format}"
            encode_audio(wav, request.format, out, ffmpeg, context.threads())
            wav.unlink()
        info = {
            "duration": round(result.duration_s, 3),
            "sample_rate": 24_000,
            "format": request.format,
            "voice": request.voice,
            "lang_code": request.lang_code,
            "speed": request.speed,
            "engine": tts.loaded.engine.name,
            "words": result.words,
        }
        return JobOutput(out, request.format, info)

    return run
