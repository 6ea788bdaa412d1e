"""Self-hosted media API: Kokoro text to speech and captioned videos for automation tools."""
