"""Video rendering services built on the ffmpeg binary from imageio-ffmpeg."""
