"""Services: TTS engines, video rendering, jobs and storage; nothing here knows about HTTP."""
