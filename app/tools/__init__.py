"""The media toolbox: every tool is one entry of a table (route, form, kind, ffmpeg invocation)."""
