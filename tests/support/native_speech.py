"""One sentence per language with a native Kokoro voice of that language, and how far what Whisper heard is from
it: word error rate, or character error rate for Chinese (written without spaces between words)."""

import unicodedata
from dataclasses import dataclass

from tests.support.hearing import _edit_distance, wer


@dataclass(frozen=True)
class NativeSpeech:
    lang_code: str  # Kokoro's
    whisper: str  # Whisper's language
    voice: str
    text: str
    prompt: str | None = None  # for Whisper: a phrase in the script the text is written in, none of its words


NATIVE = {
    "English": NativeSpeech(
        "a", "en", "af_heart", "The weather is nice today, so we will walk to the park before lunch."
    ),
    "Portuguese": NativeSpeech(
        "p", "pt", "pf_dora", "O gato dorme no sofá da sala enquanto a chuva cai lá fora."
    ),
    "Spanish": NativeSpeech(
        "e", "es", "ef_dora", "El gato duerme en el sofá de la sala mientras la lluvia cae afuera."
    ),
    "French": NativeSpeech(
        "f", "fr", "ff_siwis", "Le chat dort sur le canapé du salon pendant que la pluie tombe dehors."
    ),
    "Italian": NativeSpeech(
        "i", "it", "if_sara", "Il gatto dorme sul divano del salotto mentre fuori cade la pioggia."
    ),
    "Hindi": NativeSpeech(
        "h", "hi", "hf_alpha", "बिल्ली सोफे पर सो रही है और बाहर बारिश हो रही है।", "नमस्ते, आप कैसे हैं?"
    ),
    "Chinese": NativeSpeech("z", "zh", "zf_xiaobei", "今天天气很好，我们下午去公园散步。", "以下是普通话的句子。"),
}  # fmt: skip


def _characters(text: str) -> list[str]:
    """The letters of a text, punctuation and spaces dropped."""
    return [c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c)[0] not in "PSZ"]


def _words(text: str) -> list[str]:
    """Words split at spaces, punctuation dropped, vowel signs kept (the hearing's `normalize` splits Devanagari
    words at their combining marks)."""
    kept = "".join(c if unicodedata.category(c)[0] not in "PSZ" else " " for c in unicodedata.normalize("NFC", text))
    return kept.lower().split()


def character_error_rate(reference: str, heard: str) -> float:
    """Edits between the letters of both texts per letter of the reference, capped at 1.0."""
    expected, hypothesis = _characters(reference.lower()), _characters(heard.lower())
    if not hypothesis:
        return 1.0
    return min(1.0, _edit_distance(expected, hypothesis) / len(expected))


def error_rate(speech: NativeSpeech, heard: str) -> float:
    """WER of what was heard against the text; CER for Chinese (no spaces between its words), on the prefix of
    whole segments that matches best, so that a segment invented after the speech does not count."""
    if speech.whisper == "zh":  # Whisper base at times adds an invented segment after the last sentence
        segments = heard.split()  # (seen: 作词, 這段期間...): the best prefix of whole segments is scored
        prefixes = [" ".join(segments[:n]) for n in range(1, len(segments) + 1)] or [""]
        return min(character_error_rate(speech.text, prefix) for prefix in prefixes)
    if speech.whisper == "hi":
        reference, hypothesis = _words(speech.text), _words(heard)
        return min(1.0, _edit_distance(reference, hypothesis) / len(reference)) if hypothesis else 1.0
    return wer(speech.text, heard, lang=speech.whisper)
