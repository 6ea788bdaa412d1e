"""Unit tests: one module at a time, real processes and files, no server."""
