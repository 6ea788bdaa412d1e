"""Tests against the real app."""
