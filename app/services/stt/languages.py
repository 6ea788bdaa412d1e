"""The languages Whisper knows (the codes of faster-whisper's tokenizer), checked without importing it."""

from app.errors import InvalidInput

WHISPER_LANGUAGES = (
    *("af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da", "de", "el"),
    *("en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi", "hr", "ht", "hu", "hy"),
    *("id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi"),
    *("mk", "ml", "mn", "mr", "ms", "mt", "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru"),
    *("sa", "sd", "si", "sk", "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl"),
    *("tr", "tt", "uk", "ur", "uz", "vi", "yi", "yo", "zh", "yue"),
)
"""ISO 639-1 codes (and Whisper's three others: haw, yue, and jw for Javanese), in the tokenizer's order."""


def whisper_language(value: str | None, field: str = "language", english_only: bool = False) -> str | None:
    """The code Whisper takes for `value` (`pt`, ` PT `, `pt-BR` → `pt`); None when empty (detect it).

    400 naming `field` for a code Whisper does not know, or for another language than English on an
    English-only model."""
    code = (value or "").strip().lower().replace("_", "-")
    if not code:
        return None
    if code not in WHISPER_LANGUAGES:
        code = code.split("-", 1)[0]
    if code not in WHISPER_LANGUAGES:
        raise InvalidInput(
            f"Field '{field}': unknown language '{(value or '').strip()[:20]}'; expected an ISO 639-1 code "
            f"Whisper knows, e.g. en, pt, es, fr, de ({len(WHISPER_LANGUAGES)} in all), or leave it empty to detect it."
        )
    if english_only and code != "en":
        raise InvalidInput(
            f"Field '{field}': the speech recognition model (WHISPER_MODEL) understands English only; got '{code}'."
        )
    return code
