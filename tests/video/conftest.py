"""Media made by the real ffmpeg from lavfi sources, once per session."""

import subprocess
from pathlib import Path

import pytest

from app.services.ffmpeg import Ffmpeg

ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AUDIO = ["-c:a", "aac", "-ar", "48000", "-ac", "2"]
FFMPEG = Ffmpeg.locate()


def make_media(*args: str) -> None:
    """Run ffmpeg with `args` (inputs, options, output), failing loudly."""
    cmd = FFMPEG.command("-loglevel", "error", "-y", *args)
    subprocess.run(cmd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video-media")


@pytest.fixture(scope="session")
def image_png(media_dir: Path) -> Path:
    path = media_dir / "background.png"
    make_media("-f", "lavfi", "-i", "testsrc2=s=480x360", "-frames:v", "1", str(path))
    return path


@pytest.fixture(scope="session")
def narration_wav(media_dir: Path) -> Path:
    path = media_dir / "narration.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=24000:duration=3", str(path))
    return path


@pytest.fixture(scope="session")
def music_wav(media_dir: Path) -> Path:
    path = media_dir / "music.wav"
    make_media("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=44100:duration=1", str(path))
    return path


@pytest.fixture(scope="session")
def short_video(media_dir: Path) -> Path:
    """A 1 s 320x240 clip with audio: the video background that must loop."""
    path = media_dir / "short.mp4"
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1", "-f", "lavfi", "-i", "sine=d=1"),
        *ENCODE,
        *AUDIO,
        "-shortest",
        str(path),
    )
    return path


def make_clip(path: Path, size: str, seconds: float, audio: bool, source: str = "testsrc2") -> Path:
    """A short H.264 clip from lavfi, with a sine AAC track when `audio`."""
    video = ["-f", "lavfi", "-i", f"{source}=s={size}:r=25:d={seconds}"]
    sound = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}"] if audio else []
    make_media(*video, *sound, *ENCODE, *(AUDIO if audio else []), str(path))
    return path


@pytest.fixture(scope="session")
def mixed_clips(media_dir: Path) -> list[Path]:
    """Three clips of different sizes, the last one silent: 2 s + 1 s + 1 s."""
    return [
        make_clip(media_dir / "first.mp4", "360x640", 2, audio=True),
        make_clip(media_dir / "landscape.mp4", "320x240", 1, audio=True),
        make_clip(media_dir / "silent.mp4", "640x360", 1, audio=False),
    ]


@pytest.fixture(scope="session")
def same_clips(media_dir: Path) -> list[Path]:
    """Two clips with identical encoding parameters: eligible for stream copy."""
    return [
        make_clip(media_dir / "same1.mp4", "320x240", 1, audio=True),
        make_clip(media_dir / "same2.mp4", "320x240", 1, audio=True, source="rgbtestsrc"),
    ]


@pytest.fixture(scope="session")
def silent_clips(media_dir: Path) -> list[Path]:
    """Two clips without audio, so any sound after merging comes from the music."""
    return [
        make_clip(media_dir / "mute1.mp4", "320x240", 1, audio=False),
        make_clip(media_dir / "mute2.mp4", "320x240", 1, audio=False, source="rgbtestsrc"),
    ]


@pytest.fixture(scope="session")
def corrupt_png(media_dir: Path) -> Path:
    path = media_dir / "corrupt.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    return path
