"""Reading `ffmpeg -i` logs into MediaInfo, and picking the one relevant line of an ffmpeg error log.

The logs are those of the ffmpeg that imageio-ffmpeg ships (n9.0), unless a test says otherwise.
"""

import pytest

from app.services.ffmpeg import MediaInfo, error_line, parse_probe_log

MP4_LOG = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    encoder         : Lavf63.1.102
  Duration: 00:01:02.50, start: 0.000000, bitrate: 186 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], \
1070 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Metadata:
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 127 kb/s (default)
    Metadata:
      handler_name    : SoundHandler
At least one output file must be specified
"""

WAV_LOG = """\
[aist#0:0/pcm_s16le @ 0x5602d8428100] Guessed Channel Layout: mono
Input #0, wav, from 'voice.wav':
  Metadata:
    encoder         : Lavf63.1.102
  Duration: 00:00:03.20, bitrate: 384 kb/s
  Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 24000 Hz, mono, s16, 384 kb/s
At least one output file must be specified
"""

MP3_WITH_COVER_LOG = """\
Input #0, mp3, from 'song.mp3':
  Metadata:
    encoder         : Lavf63.1.102
  Duration: 00:03:25.04, start: 0.025056, bitrate: 86 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 64 kb/s, start 0.025057
  Stream #0:1: Video: mjpeg (Baseline), yuvj444p(pc, bt470bg/unknown/unknown), 600x600 [SAR 1:1 DAR 1:1], 90k tbr, \
90k tbn, start 0.025056 (attached pic)
    Metadata:
      comment         : Cover (front)
At least one output file must be specified
"""

WEBM_K_FPS_LOG = """\
Input #0, matroska,webm, from 'screen.webm':
  Duration: 01:00:00.00, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: vp8, yuv420p(tv, progressive), 1280x720, SAR 1:1 DAR 16:9, 1k tbr, 1k tbn (default)
At least one output file must be specified
"""

TEXT_FILE_LOG = """\
[in#0 @ 0x55f3a7404d00] Error opening input: Invalid data found when processing input
Error opening input file notes.txt.
Error opening input files: Invalid data found when processing input
"""


def test_a_video_with_sound_reports_its_size_rate_codecs_and_audio_layout() -> None:
    assert parse_probe_log(MP4_LOG) == MediaInfo(
        duration=62.5,
        has_video=True,
        has_audio=True,
        width=1920,
        height=1080,
        fps=29.97,
        video_codec="h264",
        audio_codec="aac",
        pix_fmt="yuv420p",
        sample_rate=44100,
        channels=2,
        bitrate=186_000,
    )


def test_a_wav_is_audio_only_with_no_video_fields() -> None:
    assert parse_probe_log(WAV_LOG) == MediaInfo(
        duration=3.2,
        has_video=False,
        has_audio=True,
        audio_codec="pcm_s16le",
        sample_rate=24000,
        channels=1,
        bitrate=384_000,
    )


def test_an_mp3_cover_picture_is_not_taken_for_a_video_stream() -> None:
    assert parse_probe_log(MP3_WITH_COVER_LOG) == MediaInfo(
        duration=205.04,
        has_video=False,
        has_audio=True,
        audio_codec="mp3",
        sample_rate=44100,
        channels=2,
        bitrate=86_000,
    )


def test_a_k_suffixed_rate_is_read_in_thousands_and_an_unknown_bitrate_does_not_matter() -> None:
    assert parse_probe_log(WEBM_K_FPS_LOG) == MediaInfo(
        duration=3600.0,
        has_video=True,
        has_audio=False,
        width=1280,
        height=720,
        fps=1000.0,
        video_codec="vp8",
        pix_fmt="yuv420p",
    )


def test_older_ffmpeg_channel_counts_and_a_missing_duration_are_read() -> None:
    log = (
        "Input #0, wav, from 'old.wav':\n"
        "  Duration: N/A, bitrate: N/A\n"
        "  Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 48000 Hz, 3 channels, s16, 2304 kb/s\n"
    )

    assert parse_probe_log(log) == MediaInfo(
        duration=0.0, has_video=False, has_audio=True, audio_codec="pcm_s16le", sample_rate=48000, channels=3
    )


@pytest.mark.parametrize(("layout", "channels"), [("5.1(side)", 6), ("quad", 4), ("7.1", 8), ("2.1", 3)])
def test_named_channel_layouts_give_their_channel_count(layout: str, channels: int) -> None:
    log = f"  Duration: 00:00:01.00\n  Stream #0:0: Audio: flac, 48000 Hz, {layout}, s32 (24 bit)\n"

    info = parse_probe_log(log)

    assert info is not None
    assert info.channels == channels


def test_only_the_first_video_and_audio_streams_are_described() -> None:
    log = (
        "  Duration: 00:00:10.00, start: 0.000000, bitrate: 900 kb/s\n"
        "  Stream #0:0: Video: h264 (Main), yuv420p(tv, bt709), 1280x720, 25 fps, 25 tbr, 1k tbn\n"
        "  Stream #0:1(eng): Audio: opus, 48000 Hz, stereo, fltp (default)\n"
        "  Stream #0:2: Video: hevc (Main 10), yuv420p10le(tv), 3840x2160, 60 fps, 60 tbr, 1k tbn\n"
        "  Stream #0:3(fra): Audio: aac (LC), 22050 Hz, mono, fltp\n"
    )

    assert parse_probe_log(log) == MediaInfo(
        duration=10.0,
        has_video=True,
        has_audio=True,
        width=1280,
        height=720,
        fps=25.0,
        video_codec="h264",
        audio_codec="opus",
        pix_fmt="yuv420p",
        sample_rate=48000,
        channels=2,
        bitrate=900_000,
    )


@pytest.mark.parametrize(
    ("side_data", "rotation"),
    [
        ("    Side data:\n      Display Matrix: rotation of -90.00 degrees\n", 90),
        ("    Side data:\n      displaymatrix: rotation of 90.00 degrees\n", 270),
        ("    Side data:\n      Display Matrix: rotation of -180.00 degrees\n", 180),
        ("    Metadata:\n      rotate          : 90\n", 90),
        ("", 0),
    ],
    ids=["phone-portrait", "counter-clockwise", "upside-down", "older-rotate-tag", "none"],
)
def test_rotation_is_read_in_degrees_clockwise_from_the_display_matrix_or_the_rotate_tag(
    side_data: str, rotation: int
) -> None:
    log = (
        "  Duration: 00:00:02.00, start: 0.000000, bitrate: 205 kb/s\n"
        "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x120, "
        "122 kb/s, 25 fps, 25 tbr, 12800 tbn (default)\n" + side_data
    )

    info = parse_probe_log(log)

    assert info is not None
    assert (info.rotation, info.bitrate) == (rotation, 205_000)


def test_an_unknown_bitrate_reads_as_zero() -> None:
    info = parse_probe_log(WEBM_K_FPS_LOG)

    assert info is not None
    assert info.bitrate == 0


@pytest.mark.parametrize(
    "log",
    [
        TEXT_FILE_LOG,
        "",
        "Input #0, srt, from 'subs.srt':\n  Duration: N/A, bitrate: N/A\n  Stream #0:0: Subtitle: subrip\n",
    ],
    ids=["not-media", "empty", "subtitles-only"],
)
def test_a_log_without_a_video_or_audio_stream_gives_none(log: str) -> None:
    assert parse_probe_log(log) is None


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "[Parsed_scale_0 @ 0x55d216157b40] Invalid size 'abc'",
                "[AVFilterGraph @ 0x55d21617c580] Error initializing filters",
                "Error opening output file out.mp4.",
                "Error opening output files: Invalid argument",
            ],
            "[Parsed_scale_0] Invalid size 'abc'",
        ),
        (
            [
                "[AVFilterGraph @ 0x5568b4fa4580] No such filter: 'nosuchfilter'",
                "Error opening output file out.mp4.",
                "Error opening output files: Filter not found",
            ],
            "[AVFilterGraph] No such filter: 'nosuchfilter'",
        ),
        (
            [
                "[Parsed_subtitles_0 @ 0x5645ea394b40] Unable to open nofile.ass",
                "[AVFilterGraph @ 0x5645ea3b9580] Error initializing filters",
                "Error opening output file out.mp4.",
                "Error opening output files: No such file or directory",
            ],
            "[Parsed_subtitles_0] Unable to open nofile.ass",
        ),
        (
            [
                "[vost#0:0 @ 0x55ceaa2906c0] Unknown encoder 'nosuchcodec'",
                "[vost#0:0 @ 0x55ceaa2906c0] Error selecting an encoder",
                "Error opening output file out.mp4.",
                "Error opening output files: Encoder not found",
            ],
            "[vost#0:0] Unknown encoder 'nosuchcodec'",
        ),
        (
            [
                "[out#0/mp4 @ 0x5641fe72ef80] Could not write header (incorrect codec parameters ?): "
                "No space left on device",
                "[vf#0:0 @ 0x5641fe67ec40] Error sending frames to consumers: No space left on device",
                "[vf#0:0 @ 0x5641fe67ec40] Task finished with error code: -28 (No space left on device)",
                "[vf#0:0 @ 0x5641fe67ec40] Terminating thread with return code -28 (No space left on device)",
                "[out#0/mp4 @ 0x5641fe72ef80] Nothing was written into output file, because at least one of its "
                "streams received no packets.",
            ],
            "[out#0/mp4] Could not write header (incorrect codec parameters ?): No space left on device",
        ),
        (
            [
                "[libx264 @ 0x55eb40f58bc0] width not divisible by 2 (321x241)",
                "[vost#0:0/libx264 @ 0x55eb40f58080] [enc:libx264 @ 0x55eb40f58b00] Error while opening encoder - "
                "maybe incorrect parameters such as bit_rate, rate, width or height.",
                "[vf#0:0 @ 0x55eb40f5a140] Error sending frames to consumers: Generic error in an external library",
                "[vf#0:0 @ 0x55eb40f5a140] Task finished with error code: -542398533 (Generic error in an external "
                "library)",
                "[vost#0:0/libx264 @ 0x55eb40f58080] [enc:libx264 @ 0x55eb40f58b00] Could not open encoder before EOF",
                "[out#0/mp4 @ 0x55eb40f57300] Nothing was written into output file, because at least one of its "
                "streams received no packets.",
            ],
            "[libx264] width not divisible by 2 (321x241)",
        ),
    ],
    ids=["bad-filter-argument", "unknown-filter", "missing-subtitles", "unknown-encoder", "disk-full", "odd-size"],
)
def test_the_error_line_is_the_last_cause_not_its_generic_consequences(lines: list[str], expected: str) -> None:
    assert error_line(lines, 234) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "[in#0 @ 0x55baff1bed00] Error opening input: No such file or directory",
                "Error opening input file missing.mp4.",
                "Error opening input files: No such file or directory",
            ],
            "cannot open input missing.mp4: No such file or directory",
        ),
        (
            [
                "[in#0 @ 0x559f125a2040] moov atom not found",
                "[in#0 @ 0x559f125a1d00] Error opening input: Invalid data found when processing input",
                "Error opening input file trunc.mp4.",
                "Error opening input files: Invalid data found when processing input",
            ],
            "cannot open input trunc.mp4: Invalid data found when processing input",
        ),
    ],
    ids=["missing", "truncated"],
)
def test_an_input_that_cannot_be_opened_is_named_with_the_reason(lines: list[str], expected: str) -> None:
    assert error_line(lines, 254) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            [
                "Stream map '' matches no streams.",
                "To ignore this, add a trailing '?' to the map.",
                "Failed to set value '0:v' for option 'map': Invalid argument",
                "Error parsing options for output file out.mp4.",
                "Error opening output files: Invalid argument",
            ],
            "Failed to set value '0:v' for option 'map': Invalid argument",
        ),
        (
            [
                "[fc#0 @ 0x5622b158ad80] Invalid file index 1 in filtergraph description [0:a][1:a]amix.",
                "Error binding filtergraph inputs/outputs: Invalid argument",
            ],
            "[fc#0] Invalid file index 1 in filtergraph description [0:a][1:a]amix.",
        ),
    ],
    ids=["map-matches-nothing", "filter-input-index"],
)
def test_option_and_filtergraph_binding_errors_name_their_cause(lines: list[str], expected: str) -> None:
    assert error_line(lines, 234) == expected


def test_a_log_of_only_generic_lines_gives_its_last_line_cleaned() -> None:
    lines = [
        "[vf#0:0 @ 0x5641fe67ec40] Task finished with error code: -28 (No space left on device)",
        "Conversion failed!",
    ]

    assert error_line(lines, 1) == "Conversion failed!"


def test_an_empty_log_gives_the_exit_code() -> None:
    assert error_line(["", "   "], 137) == "ffmpeg exited with code 137"


def test_a_very_long_line_is_cut_to_400_characters_with_an_ellipsis() -> None:
    line = error_line(["[graph @ 0xdeadbeef] Invalid argument: " + "x" * 1000], 1)

    assert len(line) == 400
    assert line == "[graph] Invalid argument: " + "x" * 371 + "..."
