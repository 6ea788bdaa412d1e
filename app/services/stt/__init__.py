"""Speech to text: faster-whisper in its own process, transcripts, their formats and script alignment."""
