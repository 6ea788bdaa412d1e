"""Tests of the video rendering services."""
