"""Numbers and symbols written out as words before G2P, for the espeak languages: Portuguese, Spanish, French,
Italian and Hindi. Amounts (R$ 1.250,00), percentages, times (14h30, 14:30), dates, ordinals (1º, 2ª, 1er),
measures (5 km), common abbreviations (Sr., Dra., nº) and URLs become the words a speaker would say; English
keeps misaki's own handling.

`spoken_pieces` keeps each written span beside its spoken form, so word timestamps still show "14h30" while
the model says "catorze horas e trinta"; `normalize` gives the spoken text alone.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from num2words import num2words

NORMALIZED_LANGUAGES = ("e", "f", "h", "i", "p")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NUM2WORDS = {"e": "es", "f": "fr", "i": "it", "p": "pt_BR"}
_MAX_SPELLED = 10**15
"""Longer numbers (ids, card numbers) are read digit by digit."""

_HINDI_0_99 = _words(
    "शून्य एक दो तीन चार पाँच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस बीस "
    "इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस "
    "छत्तीस सैंतीस अड़तीस उनतालीस चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस "
    "उनचास पचास इक्यावन बावन तिरपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ "
    "छियासठ सड़सठ अड़सठ उनहत्तर सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उन्यासी "
    "अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी नब्बे इक्यानवे बानवे तिरानवे "
    "चौरानवे पचानवे छियानवे सत्तानवे अट्ठानवे निन्यानवे"
)
_HINDI_SCALE = ((10**7, "करोड़"), (10**5, "लाख"), (1000, "हज़ार"), (100, "सौ"))
_HINDI_ORDINAL_STEMS = {1: "पहल", 2: "दूसर", 3: "तीसर", 4: "चौथ", 6: "छठ"}


def hindi_cardinal(n: int) -> str:
    """A whole number in Hindi words, in the Indian scale (सौ, हज़ार, लाख, करोड़)."""
    if n < 100:
        return _HINDI_0_99[n]
    for value, word in _HINDI_SCALE:
        if n >= value:
            head, rest = divmod(n, value)
            words = f"{hindi_cardinal(head)} {word}"
            return words if rest == 0 else f"{words} {hindi_cardinal(rest)}"
    raise AssertionError("unreachable: n >= 100 always meets a scale")


def cardinal(n: int, code: str) -> str:
    """A whole number in words (num2words' thousands commas dropped: they would be read as pauses)."""
    if code == "h":
        return hindi_cardinal(n)
    return str(num2words(n, lang=_NUM2WORDS[code])).replace(",", "")


def _feminine(words: str, code: str) -> str:
    """The feminine form of a cardinal ("um" -> "uma", "vingt et un" -> "vingt et une") for hours and ordinals."""
    if code == "p":
        return re.sub(r"\bum$", "uma", re.sub(r"\bdois$", "duas", words))
    if code in "ei":
        return re.sub(r"uno$", "una", words)
    if code == "f":
        return re.sub(r"\bun$", "une", words)
    return words


def ordinal(n: int, code: str, feminine: bool = False) -> str:
    """An ordinal in words: 1º primeiro, 1ª primeira, 1er premier, 1re première, 5वाँ पाँचवाँ."""
    if code == "h":
        raise ValueError("Hindi ordinals are built from their written ending: see _hindi_ordinal")
    if code == "f" and n == 1:
        return "première" if feminine else "premier"
    words = str(num2words(n, lang=_NUM2WORDS[code], to="ordinal")).replace(",", "")
    return re.sub(r"o\b", "a", words) if feminine and code in "epi" else words


@dataclass(frozen=True)
class Lexicon:
    """The words one language needs to read numbers, amounts, times, dates, measures and URLs."""

    code: str
    decimal_comma: bool
    decimal_word: str
    minus: str
    percent: str
    and_word: str
    money_joiner: str
    of_millions: str  # "dois milhões de reais": the word between a round million and its currency
    currencies: dict[str, tuple[str, str, str, str]]  # symbol: unit singular, plural, cent singular, plural
    months: tuple[str, ...]
    date: Callable[[str, str, str | None], str]  # day words, month name, year words
    time: Callable[[int, int], str]  # hours, minutes -> words
    units: dict[str, tuple[str, str]]
    abbreviations: dict[str, str]
    url_words: dict[str, str]  # ".", "/", "@", "-", "_", "www"
    titles: frozenset[str] = field(default_factory=frozenset)  # abbreviations that never end a sentence
    scales: dict[str, bool] = field(default_factory=dict)  # "R$ 3 milhões": scale word, takes `of_millions`


def _pt_time(h: int, m: int) -> str:
    hours = f"{_feminine(cardinal(h, 'p'), 'p')} {'hora' if h == 1 else 'horas'}"
    return f"{hours} e {cardinal(m, 'p')}" if m else hours


def _es_time(h: int, m: int) -> str:
    hours = _feminine(cardinal(h, "e"), "e")
    return f"{hours} y {cardinal(m, 'e')}" if m else f"{hours} {'hora' if h == 1 else 'horas'}"


def _fr_time(h: int, m: int) -> str:
    hours = f"{_feminine(cardinal(h, 'f'), 'f')} {'heure' if h <= 1 else 'heures'}"
    return f"{hours} {cardinal(m, 'f')}" if m else hours


def _it_time(h: int, m: int) -> str:
    hours = "una" if h == 1 else cardinal(h, "i")
    return f"{hours} e {cardinal(m, 'i')}" if m else hours


def _hi_time(h: int, m: int) -> str:
    return f"{cardinal(h, 'h')} बजकर {cardinal(m, 'h')} मिनट" if m else f"{cardinal(h, 'h')} बजे"


def _with_de(day: str, month: str, year: str | None) -> str:
    return f"{day} de {month}" + (f" de {year}" if year else "")


def _plain_date(day: str, month: str, year: str | None) -> str:
    return f"{day} {month}" + (f" {year}" if year else "")


_METRIC = ("km/h", "km", "kg", "cm", "mm", "ml", "m", "g", "l", "L", "°C", "ºC", "°F")


def _units(*forms: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """Units in the order of _METRIC (litres twice: l and L; Celsius twice: ° and º)."""
    km_h, km, kg, cm, mm, ml, m, g, litre, celsius, fahrenheit = forms
    return dict(zip(_METRIC, (km_h, km, kg, cm, mm, ml, m, g, litre, litre, celsius, celsius, fahrenheit), strict=True))


LEXICONS: dict[str, Lexicon] = {
    "p": Lexicon(
        code="p",
        decimal_comma=True,
        decimal_word="vírgula",
        minus="menos",
        percent="por cento",
        and_word="e",
        money_joiner="e",
        of_millions="de ",
        currencies={
            "R$": ("real", "reais", "centavo", "centavos"),
            "US$": ("dólar", "dólares", "centavo", "centavos"),
            "$": ("dólar", "dólares", "centavo", "centavos"),
            "€": ("euro", "euros", "cêntimo", "cêntimos"),
            "£": ("libra", "libras", "pêni", "pence"),
            "BRL": ("real", "reais", "centavo", "centavos"),
            "USD": ("dólar", "dólares", "centavo", "centavos"),
            "EUR": ("euro", "euros", "cêntimo", "cêntimos"),
        },
        months=_words("janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"),
        date=_with_de,
        time=_pt_time,
        units=_units(
            ("quilômetro por hora", "quilômetros por hora"),
            ("quilômetro", "quilômetros"),
            ("quilo", "quilos"),
            ("centímetro", "centímetros"),
            ("milímetro", "milímetros"),
            ("mililitro", "mililitros"),
            ("metro", "metros"),
            ("grama", "gramas"),
            ("litro", "litros"),
            ("grau Celsius", "graus Celsius"),
            ("grau Fahrenheit", "graus Fahrenheit"),
        ),
        abbreviations={
            "Sr.": "senhor",
            "Sra.": "senhora",
            "Srta.": "senhorita",
            "Dr.": "doutor",
            "Dra.": "doutora",
            "Prof.": "professor",
            "Profa.": "professora",
            "Av.": "avenida",
            "av.": "avenida",
            "nº": "número",
            "n.º": "número",
            "Nº": "número",
            "N.º": "número",
            "pág.": "página",
            "págs.": "páginas",
            "etc.": "et cetera",
            "tel.": "telefone",
            "Ltda.": "limitada",
            "Exmo.": "excelentíssimo",
            "Exma.": "excelentíssima",
            "aprox.": "aproximadamente",
            "p.ex.": "por exemplo",
            "obs.": "observação",
        },
        url_words={
            ".": "ponto",
            "/": "barra",
            "@": "arroba",
            "-": "hífen",
            "_": "sublinhado",
            "www": "dáblio dáblio dáblio",
            ":": "dois pontos",
        },
        titles=frozenset({"Sr.", "Sra.", "Srta.", "Dr.", "Dra.", "Prof.", "Profa.", "Av.", "Exmo.", "Exma."}),
        scales={"mil": False, "milhão": True, "milhões": True, "bilhão": True, "bilhões": True},
    ),
    "e": Lexicon(
        code="e",
        decimal_comma=True,
        decimal_word="coma",
        minus="menos",
        percent="por ciento",
        and_word="y",
        money_joiner="con",
        of_millions="de ",
        currencies={
            "US$": ("dólar", "dólares", "centavo", "centavos"),
            "$": ("dólar", "dólares", "centavo", "centavos"),
            "€": ("euro", "euros", "céntimo", "céntimos"),
            "£": ("libra", "libras", "penique", "peniques"),
            "R$": ("real", "reales", "centavo", "centavos"),
            "USD": ("dólar", "dólares", "centavo", "centavos"),
            "EUR": ("euro", "euros", "céntimo", "céntimos"),
        },
        months=_words("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"),
        date=_with_de,
        time=_es_time,
        units=_units(
            ("kilómetro por hora", "kilómetros por hora"),
            ("kilómetro", "kilómetros"),
            ("kilo", "kilos"),
            ("centímetro", "centímetros"),
            ("milímetro", "milímetros"),
            ("mililitro", "mililitros"),
            ("metro", "metros"),
            ("gramo", "gramos"),
            ("litro", "litros"),
            ("grado Celsius", "grados Celsius"),
            ("grado Fahrenheit", "grados Fahrenheit"),
        ),
        abbreviations={
            "Sr.": "señor",
            "Sra.": "señora",
            "Srta.": "señorita",
            "Dr.": "doctor",
            "Dra.": "doctora",
            "Prof.": "profesor",
            "Profa.": "profesora",
            "Ud.": "usted",
            "Uds.": "ustedes",
            "Vd.": "usted",
            "Av.": "avenida",
            "Avda.": "avenida",
            "nº": "número",
            "n.º": "número",
            "Nº": "número",
            "N.º": "número",
            "pág.": "página",
            "etc.": "etcétera",
            "tel.": "teléfono",
            "aprox.": "aproximadamente",
            "EE.UU.": "Estados Unidos",
            "EE. UU.": "Estados Unidos",
            "p.ej.": "por ejemplo",
        },
        url_words={
            ".": "punto",
            "/": "barra",
            "@": "arroba",
            "-": "guion",
            "_": "guion bajo",
            "www": "uve doble uve doble uve doble",
            ":": "dos puntos",
        },
        titles=frozenset(
            {"Sr.", "Sra.", "Srta.", "Dr.", "Dra.", "Prof.", "Profa.", "Ud.", "Uds.", "Vd.", "Av.", "Avda."}
        ),
        scales={"mil": False, "millón": True, "millones": True, "mil millones": True},
    ),
    "f": Lexicon(
        code="f",
        decimal_comma=True,
        decimal_word="virgule",
        minus="moins",
        percent="pour cent",
        and_word="et",
        money_joiner="et",
        of_millions="d'",
        currencies={
            "€": ("euro", "euros", "centime", "centimes"),
            "US$": ("dollar", "dollars", "cent", "cents"),
            "$": ("dollar", "dollars", "cent", "cents"),
            "£": ("livre", "livres", "penny", "pence"),
            "R$": ("réal", "réaux", "centavo", "centavos"),
            "EUR": ("euro", "euros", "centime", "centimes"),
            "USD": ("dollar", "dollars", "cent", "cents"),
        },
        months=_words("janvier février mars avril mai juin juillet août septembre octobre novembre décembre"),
        date=_plain_date,
        time=_fr_time,
        units=_units(
            ("kilomètre par heure", "kilomètres par heure"),
            ("kilomètre", "kilomètres"),
            ("kilo", "kilos"),
            ("centimètre", "centimètres"),
            ("millimètre", "millimètres"),
            ("millilitre", "millilitres"),
            ("mètre", "mètres"),
            ("gramme", "grammes"),
            ("litre", "litres"),
            ("degré Celsius", "degrés Celsius"),
            ("degré Fahrenheit", "degrés Fahrenheit"),
        ),
        abbreviations={
            "M.": "monsieur",
            "MM.": "messieurs",
            "Mme": "madame",
            "Mmes": "mesdames",
            "Mlle": "mademoiselle",
            "Dr": "docteur",
            "Dr.": "docteur",
            "Pr": "professeur",
            "n°": "numéro",
            "nº": "numéro",
            "N°": "numéro",
            "etc.": "et cetera",
            "av.": "avenue",
            "bd": "boulevard",
            "p.ex.": "par exemple",
            "env.": "environ",
            "tél.": "téléphone",
        },
        url_words={
            ".": "point",
            "/": "slash",
            "@": "arobase",
            "-": "tiret",
            "_": "tiret bas",
            "www": "double vé double vé double vé",
            ":": "deux points",
        },
        titles=frozenset({"M.", "MM.", "Dr.", "av."}),
        scales={"mille": False, "million": True, "millions": True, "milliard": True, "milliards": True},
    ),
    "i": Lexicon(
        code="i",
        decimal_comma=True,
        decimal_word="virgola",
        minus="meno",
        percent="per cento",
        and_word="e",
        money_joiner="e",
        of_millions="di ",
        currencies={
            "€": ("euro", "euro", "centesimo", "centesimi"),
            "US$": ("dollaro", "dollari", "centesimo", "centesimi"),
            "$": ("dollaro", "dollari", "centesimo", "centesimi"),
            "£": ("sterlina", "sterline", "penny", "pence"),
            "R$": ("real", "real", "centavo", "centavos"),
            "EUR": ("euro", "euro", "centesimo", "centesimi"),
            "USD": ("dollaro", "dollari", "centesimo", "centesimi"),
        },
        months=_words("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"),
        date=_plain_date,
        time=_it_time,
        units=_units(
            ("chilometro orario", "chilometri orari"),
            ("chilometro", "chilometri"),
            ("chilo", "chili"),
            ("centimetro", "centimetri"),
            ("millimetro", "millimetri"),
            ("millilitro", "millilitri"),
            ("metro", "metri"),
            ("grammo", "grammi"),
            ("litro", "litri"),
            ("grado Celsius", "gradi Celsius"),
            ("grado Fahrenheit", "gradi Fahrenheit"),
        ),
        abbreviations={
            "Sig.": "signor",
            "Sig.ra": "signora",
            "Sig.na": "signorina",
            "Dott.": "dottor",
            "Dott.ssa": "dottoressa",
            "Prof.": "professor",
            "Prof.ssa": "professoressa",
            "Avv.": "avvocato",
            "Ing.": "ingegner",
            "ecc.": "eccetera",
            "nº": "numero",
            "n°": "numero",
            "pag.": "pagina",
            "tel.": "telefono",
            "p.es.": "per esempio",
            "ca.": "circa",
        },
        url_words={
            ".": "punto",
            "/": "slash",
            "@": "chiocciola",
            "-": "trattino",
            "_": "trattino basso",
            "www": "vu vu vu",
            ":": "due punti",
        },
        titles=frozenset({"Sig.", "Dott.", "Prof.", "Avv.", "Ing."}),
        scales={"mila": False, "mille": False, "milione": True, "milioni": True, "miliardo": True, "miliardi": True},
    ),
    "h": Lexicon(
        code="h",
        decimal_comma=False,
        decimal_word="दशमलव",
        minus="माइनस",
        percent="प्रतिशत",
        and_word="और",
        money_joiner="और",
        of_millions="",
        currencies={
            "₹": ("रुपया", "रुपये", "पैसा", "पैसे"),
            "Rs.": ("रुपया", "रुपये", "पैसा", "पैसे"),
            "Rs": ("रुपया", "रुपये", "पैसा", "पैसे"),
            "रु.": ("रुपया", "रुपये", "पैसा", "पैसे"),
            "INR": ("रुपया", "रुपये", "पैसा", "पैसे"),
            "$": ("डॉलर", "डॉलर", "सेंट", "सेंट"),
            "€": ("यूरो", "यूरो", "सेंट", "सेंट"),
            "£": ("पाउंड", "पाउंड", "पेंस", "पेंस"),
        },
        months=_words("जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर"),
        date=_plain_date,
        time=_hi_time,
        units=_units(
            ("किलोमीटर प्रति घंटा", "किलोमीटर प्रति घंटा"),
            ("किलोमीटर", "किलोमीटर"),
            ("किलो", "किलो"),
            ("सेंटीमीटर", "सेंटीमीटर"),
            ("मिलीमीटर", "मिलीमीटर"),
            ("मिलीलीटर", "मिलीलीटर"),
            ("मीटर", "मीटर"),
            ("ग्राम", "ग्राम"),
            ("लीटर", "लीटर"),
            ("डिग्री सेल्सियस", "डिग्री सेल्सियस"),
            ("डिग्री फ़ारेनहाइट", "डिग्री फ़ारेनहाइट"),
        ),
        abbreviations={
            "डॉ.": "डॉक्टर",
            "प्रो.": "प्रोफ़ेसर",
            "Dr.": "डॉक्टर",
            "Mr.": "मिस्टर",
            "Mrs.": "मिसेज़",
            "etc.": "वगैरह",
        },
        url_words={".": "डॉट", "/": "स्लैश", "@": "एट", "-": "डैश", "_": "अंडरस्कोर", "www": "डब्ल्यू डब्ल्यू डब्ल्यू", ":": "कोलन"},
        titles=frozenset({"डॉ.", "प्रो.", "Dr.", "Mr.", "Mrs."}),
        scales={"हज़ार": False, "लाख": False, "करोड़": False},
    ),
}


def _number_pattern(lex: Lexicon) -> str:
    """A written number in the language's own style: 1.250,00 (1 250,00 in French) or 1,25,000.50 in Hindi;
    3.5 and 3.14 (a dot and one, two or four or more digits) are read as decimals in the comma languages too."""
    if not lex.decimal_comma:
        return r"\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+\.\d+|\d+"
    groups = r"[ .\u00a0\u202f]" if lex.code == "f" else r"[.\u00a0\u202f]"
    return rf"\d{{1,3}}(?:{groups}\d{{3}})+(?:,\d+)?|\d+,\d+|\d+\.(?:\d{{1,2}}|\d{{4,}})(?!\d)|\d+"


def _split_number(written: str, lex: Lexicon) -> tuple[int, str | None]:
    """(whole part, fraction digits or None) of a number that `_number_pattern` matched."""
    if lex.decimal_comma and "," in written:
        whole, fraction = written.rsplit(",", 1)
    elif "." in written and (not lex.decimal_comma or re.fullmatch(r"\d+\.(?:\d{1,2}|\d{4,})", written)):
        whole, fraction = written.rsplit(".", 1)
    else:
        whole, fraction = written, None
    return int(re.sub(r"[^\d]", "", whole)), fraction


def _digits(digits: str, code: str) -> str:
    return " ".join(cardinal(int(d), code) for d in digits)


def _whole(n: int, code: str, written: str = "") -> str:
    """A whole number; digit by digit when it is very long or written with a leading zero (007)."""
    plain = re.sub(r"[^\d]", "", written)
    if n >= _MAX_SPELLED or (len(plain) > 1 and plain.startswith("0")):
        return _digits(plain or str(n), code)
    return cardinal(n, code)


def read_number(written: str, lex: Lexicon) -> str:
    """1.250 mil duzentos e cinquenta; 1,5 um vírgula cinco; 0,05 zero vírgula zero cinco."""
    whole, fraction = _split_number(written, lex)
    words = _whole(whole, lex.code, written if fraction is None else "")
    if fraction is None:
        return words
    if fraction.startswith("0") or len(fraction) > 2:
        return f"{words} {lex.decimal_word} {_digits(fraction, lex.code)}"
    return f"{words} {lex.decimal_word} {cardinal(int(fraction), lex.code)}"


def _of(lex: Lexicon, noun: str) -> str:
    """The word between a round million and its currency: "de ", "di ", "d'" before a vowel in French."""
    if lex.of_millions == "d'":
        return "d'" if noun[0] in "aeiouéèêh" else "de "
    return lex.of_millions


def read_money(written: str, symbol: str, lex: Lexicon, scale: str | None = None) -> str:
    """R$ 1.250,00 mil duzentos e cinquenta reais; € 2,50 dois euros e cinquenta cêntimos; US$ 3 milhões
    três milhões de dólares."""
    unit, units, cent, cents = lex.currencies[symbol]
    if scale:
        return f"{read_number(written, lex)} {scale} {_of(lex, units) if lex.scales[scale] else ''}{units}"
    whole, fraction = _split_number(written, lex)
    if fraction is not None and len(fraction) > 2:  # not cents: a decimal amount of the unit
        return f"{read_number(written, lex)} {units}"
    cent_count = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if whole or not cent_count:
        name = unit if whole == 1 else units
        of = _of(lex, name) if whole >= 10**6 and whole % 10**6 == 0 else ""
        parts.append(f"{_whole(whole, lex.code)} {of}{name}")
    if cent_count:
        parts.append(f"{cardinal(cent_count, lex.code)} {cent if cent_count == 1 else cents}")
    return f" {lex.money_joiner} ".join(parts)


def read_url(written: str, lex: Lexicon) -> str:
    """https://www.exemplo.com.br/pagina dáblio dáblio dáblio ponto exemplo ponto com ponto br barra pagina."""
    body = re.split(r"[?#]", re.sub(r"^[a-zA-Z]+://", "", written))[0].rstrip("/")
    words = []
    for token in re.split(r"([./@_:-])", body):
        if token in lex.url_words or token.lower() == "www":
            words.append(lex.url_words[token.lower()])
        elif token.isdigit():
            words.append(_whole(int(token), lex.code, token))
        elif token:
            words.append(token)
    return " ".join(words)


def _hindi_ordinal(n: int, ending: str) -> str:
    """5वाँ पाँचवाँ, 1ला पहला, 2री दूसरी: the written ending gives gender and case."""
    vowel = "ी" if "ी" in ending else ("े" if "े" in ending else "ा")
    if n in _HINDI_ORDINAL_STEMS:
        return _HINDI_ORDINAL_STEMS[n] + vowel
    return cardinal(n, "h") + {"ा": "वाँ", "ी": "वीं", "े": "वें"}[vowel]


def read_ordinal(n: int, suffix: str, lex: Lexicon) -> str:
    if lex.code == "h":
        return _hindi_ordinal(n, suffix)
    feminine = suffix.startswith(("ª", "a", "r", "è")) or suffix in ("de", "des", "nde", "ndes")
    return ordinal(n, lex.code, feminine and suffix not in ("er", "ers"))


def read_date(day: str, month: str, year: str | None, lex: Lexicon) -> str:
    """25/12/2024 vinte e cinco de dezembro de dois mil e vinte e quatro; 1/5 primeiro de maio."""
    d = int(day)
    day_words = ordinal(1, lex.code) if d == 1 and lex.code in "pfi" else cardinal(d, lex.code)
    year_words = _whole(int(year), lex.code) if year else None
    return lex.date(day_words, lex.months[int(month) - 1], year_words)


def read_unit(number: str, unit: str, lex: Lexicon) -> str:
    """5 km cinco quilômetros; 1 kg um quilo; 25°C vinte e cinco graus Celsius."""
    whole, fraction = _split_number(number, lex)
    singular, plural = lex.units[unit]
    return f"{read_number(number, lex)} {singular if whole == 1 and fraction is None else plural}"


_NEG = r"(?P<neg>(?<![\w.,-])-)?"
"""A minus sign before a number, not a hyphen inside a word (COVID-19)."""


def _minus(match: re.Match[str], lex: Lexicon) -> str:
    return f"{lex.minus} " if match["neg"] else ""


def _signed(match: re.Match[str], lex: Lexicon) -> str:
    return _minus(match, lex) + read_number(match["num"], lex)


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: str
    speak: Callable[[re.Match[str], Lexicon], str]


_URL = r"(?:[a-zA-Z]+://|www\.)[^\s]+?(?=[.,;:!?)\]]*(?:\s|$))|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_DATE_ISO = r"(?<!\d)(?P<y>\d{4})-(?P<mo>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"
_DATE = r"(?<![\d/.,])(?P<d>0?[1-9]|[12]\d|3[01])[/.-](?P<mo>0?[1-9]|1[0-2])[/.-](?P<y>\d{4}|\d{2})(?![\d/]|[.,]\d)"
_DAY_MONTH = (
    r"(?<![\d/.,])(?P<d>[0-2]\d|3[01]|[1-9])/(?P<mo>0[1-9]|1[0-2])(?![\d/])"
    r"|(?<![\d/.,])(?P<d2>[0-2]\d|3[01])/(?P<mo2>[1-9])(?![\d/])"
)  # 25/12, 01/5 or 1/05; "3/4" (one digit each) is no date


def _time_pattern(spaced: bool = False, hours_word: str = "") -> str:
    """14h30, 14h30min, 14h, 14:30, 14:30:00, 14:30 h; `spaced`: also 12 h 30 and 8 h (French typography);
    `hours_word`: also the hour with that word written after it (22 horas), read as a time so the hour agrees."""
    mark, alone = (r"\s?h\s?", r"\s?h") if spaced else ("h", "h")
    said = rf"|\s{hours_word}(?!\w)" if hours_word else ""
    return (
        r"(?<![\d:.,])(?P<h>[01]?\d|2[0-4])"
        rf"(?:{mark}(?P<m1>[0-5]\d)(?:min)?|:(?P<m2>[0-5]\d)(?::[0-5]\d)?(?:\s?h(?!\w){said})?"
        rf"|{alone}(?!\w){said})(?![\d:])"
    )


_TIME = _time_pattern()
_TIMES = {
    "f": _time_pattern(spaced=True),
    "p": _time_pattern(hours_word="horas?"),
    "e": _time_pattern(hours_word="horas?"),
}
_ORDINAL_ENDINGS = {
    "h": r"वाँ|वां|वीं|वें|ला|ली|ले|रा|री|रे|था|थी|थे|ठा|ठी|ठे",
    "f": r"(?:ers?|res?|ères?|èmes?|es?|ᵉ|nde?s?|d)(?!\w)",
}
_ORDINAL_MARKS = r"\.?[ºª°](?![CF]\b)"  # 1º 2ª 3.º (°C is a temperature)


def _speak_date(m: re.Match[str], lex: Lexicon) -> str:
    g = m.groupdict()
    day, month = g["d"] or g["d2"], g["mo"] or g["mo2"]  # day_month's second form
    return read_date(str(day), str(month), g.get("y"), lex)


def _speak_time(m: re.Match[str], lex: Lexicon) -> str:
    return lex.time(int(m["h"]), int(m["m1"] or m["m2"] or 0))


def _speak_money(m: re.Match[str], lex: Lexicon) -> str:
    return read_money(m["num"], m["sym"], lex, m.groupdict().get("scale"))


def _speak_unit(m: re.Match[str], lex: Lexicon) -> str:
    return _minus(m, lex) + read_unit(m["num"], m["unit"], lex)


def _speak_ordinal(m: re.Match[str], lex: Lexicon) -> str:
    return read_ordinal(int(m["n"]), m["suf"].lstrip("."), lex)


def _rules(lex: Lexicon) -> list[_Rule]:
    """Every rule in priority order: at one position, the first that matches wins."""
    num = _number_pattern(lex)
    money = _alternatives(list(lex.currencies))
    units = _alternatives(list(lex.units))
    abbreviations = _alternatives(list(lex.abbreviations))
    scale = rf"(?:\s(?P<scale>{_alternatives(list(lex.scales))}))?"
    said_hour = r"(?:\s?बजे)?" if lex.code == "h" else ""  # 14:30 बजे: the time's own words say बजकर
    ordinal_endings = _ORDINAL_ENDINGS.get(lex.code, _ORDINAL_MARKS)
    return [
        _Rule("url", _URL, lambda m, x: read_url(m.group(), x)),
        _Rule("date_iso", _DATE_ISO, _speak_date),
        _Rule("date", _DATE, _speak_date),
        _Rule("day_month", _DAY_MONTH, _speak_date),
        _Rule("time", _TIMES.get(lex.code, _TIME) + said_hour, _speak_time),
        _Rule("money_before", rf"(?<![\w$])(?P<sym>{money})\s?(?P<num>{num}){scale}(?![\d\w])", _speak_money),
        _Rule("money_after", rf"(?<![\w.,])(?P<num>{num})\s?(?P<sym>{money})(?!\w)", _speak_money),
        _Rule("percent", rf"{_NEG}(?<![\w.,])(?P<num>{num})\s?%", lambda m, x: f"{_signed(m, x)} {x.percent}"),
        _Rule("unit", rf"{_NEG}(?<![\w.,])(?P<num>{num})\s?(?P<unit>{units})(?![\w/'’])", _speak_unit),
        _Rule("ordinal", rf"(?<![\w.,])(?P<n>\d+)(?P<suf>{ordinal_endings})", _speak_ordinal),
        _Rule("abbreviation", rf"(?<![\w.])(?P<abbr>{abbreviations})(?!\w)", lambda m, x: x.abbreviations[m["abbr"]]),
        _Rule("ampersand", r"(?<=\s)&(?=\s)", lambda m, x: x.and_word),
        _Rule("number", rf"{_NEG}(?<![\w.,])(?P<num>{num})(?!\w)", _signed),
    ]


@dataclass(frozen=True)
class _Reader:
    """One language's rules joined into one pattern (named groups of the rules kept apart by re-matching)."""

    lexicon: Lexicon
    rules: tuple[_Rule, ...]
    compiled: tuple[re.Pattern[str], ...]
    combined: re.Pattern[str]

    def segments(self, text: str) -> list[tuple[str, str | None]]:
        """The text as (written, spoken) spans; spoken is None for text read as written."""
        out: list[tuple[str, str | None]] = []
        position = 0
        for match in self.combined.finditer(text):
            index = next(i for i, rule in enumerate(self.rules) if match.group(rule.name) is not None)
            own = self.compiled[index].match(text, match.start())
            assert own is not None and own.end() == match.end()  # the same pattern at the same place
            if match.start() > position:
                out.append((text[position : match.start()], None))
            out.append((match.group(), self.rules[index].speak(own, self.lexicon)))
            position = match.end()
        if position < len(text):
            out.append((text[position:], None))
        return out


@functools.cache
def _reader(code: str) -> _Reader:
    lex = LEXICONS[code]
    rules = tuple(_rules(lex))
    unnamed = [re.sub(r"\(\?P<\w+>", "(?:", rule.pattern) for rule in rules]
    combined = re.compile("|".join(f"(?P<{rule.name}>{p})" for rule, p in zip(rules, unnamed, strict=True)))
    return _Reader(lex, rules, tuple(re.compile(rule.pattern) for rule in rules), combined)


@dataclass
class Piece:
    """A written span (a word, or a matched span like "R$ 1.250,00.") and the words that speak it."""

    written: str
    spoken: str
    space_after: bool


def _append(pieces: list[Piece], written: str, spoken: str, glued: bool) -> None:
    """Add a span; one with no space before it joins the piece before (punctuation, a bracket)."""
    if glued and pieces:
        pieces[-1].written += written
        pieces[-1].spoken += spoken
    else:
        pieces.append(Piece(written, spoken, True))


def spoken_pieces(text: str, code: str) -> list[Piece]:
    """The words of `text` with their spoken forms, split at whitespace (a matched span stays whole)."""
    segments = _reader(code).segments(text) if code in NORMALIZED_LANGUAGES else [(text, None)]
    pieces: list[Piece] = []
    glued = False  # the next span touches the piece before (no whitespace between)
    for written, spoken in segments:
        if spoken is not None:
            _append(pieces, written, spoken, glued)
            glued = True
            continue
        for match in re.finditer(r"\S+|\s+", written):
            if match.group().isspace():
                glued = False
                continue
            _append(pieces, match.group(), match.group(), glued)
            glued = True
    if pieces:
        pieces[-1].space_after = False
    return pieces


def normalize(text: str, code: str) -> str:
    """The text as it is spoken: numbers, amounts, times, dates, measures, abbreviations and URLs in words."""
    if code not in NORMALIZED_LANGUAGES:
        return text
    return "".join(written if spoken is None else spoken for written, spoken in _reader(code).segments(text))


def ends_with_title(sentence: str) -> bool:
    """Whether a piece of text ends with an abbreviation that never ends a sentence (Sr., Dra., M.)."""
    last = sentence.rsplit(None, 1)[-1] if sentence.strip() else ""
    return any(last in lex.titles for lex in LEXICONS.values())
