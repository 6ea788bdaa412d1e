"""Kokoro text to speech: one text path, two engines."""
