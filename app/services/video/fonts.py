"""Caption fonts shipped by registry packages (SIL OFL), gathered into one folder for libass's `fontsdir`.

Never the system's fonts: libass is given this folder only, so a render looks the same on every machine."""

import hashlib
import importlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

FONT_PACKAGES: dict[str, str] = {
    "Lato": "font_lato",
    "Roboto": "font_roboto",
    "Source Sans Pro": "font_source_sans_pro",
    "Red Hat Display": "font_rhd",
    "Fredoka One": "font_fredoka_one",
}
"""Family name (as libass matches it) -> the Python module of the package that ships its TTFs."""


def package_font_dir(module_name: str) -> Path | None:
    """The folder of a font package's TTFs, or None when the package is not installed."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(module.font_directory)


def font_families() -> list[str]:
    """The families whose package is installed, in FONT_PACKAGES order."""
    return [family for family, module in FONT_PACKAGES.items() if package_font_dir(module) is not None]


@lru_cache(maxsize=1)
def caption_fonts_dir() -> Path:
    """One folder linking every installed package's TTFs, built once per process (atomically, so processes
    building it at the same time agree), named by the files it links."""
    files = sorted(
        path
        for module in FONT_PACKAGES.values()
        if (folder := package_font_dir(module)) is not None
        for path in folder.glob("*.ttf")
    )
    digest = hashlib.sha256("\n".join(str(p) for p in files).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"media-caption-fonts-{os.getuid()}-{digest}"
    if target.is_dir():
        return target
    building = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    for path in files:
        (building / path.name).symlink_to(path)
    try:
        building.rename(target)
    except OSError:  # another process built it first
        shutil.rmtree(building, ignore_errors=True)
    return target
