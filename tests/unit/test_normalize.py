"""Numbers and symbols read aloud in the espeak languages: what each written form becomes before G2P."""

import pytest

from app.services.tts.chunking import split_sentences
from app.services.tts.normalize import hindi_cardinal, normalize, spoken_pieces

MEETING_PT = "A reunião das 14h30 teve 25% de desconto e custou R$ 1.250,00."
MEETING_PT_SPOKEN = (
    "A reunião das catorze horas e trinta teve vinte e cinco por cento de desconto e custou "
    "mil duzentos e cinquenta reais."
)


def test_the_portuguese_meeting_sentence_is_read_with_its_time_percentage_and_amount_in_words() -> None:
    assert normalize(MEETING_PT, "p") == MEETING_PT_SPOKEN


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("R$ 1,00", "um real"),
        ("R$ 0,50", "cinquenta centavos"),
        ("R$ 2,05", "dois reais e cinco centavos"),
        ("R$1.000.000", "um milhão de reais"),
        ("US$ 3 milhões", "três milhões de dólares"),
        ("R$ 2 mil", "dois mil reais"),
        ("12,99 €", "doze euros e noventa e nove cêntimos"),
        ("às 9:05", "às nove horas e cinco"),
        ("às 1h", "às uma hora"),
        ("às 22h", "às vinte e duas horas"),
        ("às 14:00", "às catorze horas"),
        ("às 22 horas, por 1 hora", "às vinte e duas horas, por uma hora"),
        ("às 14:30 horas", "às catorze horas e trinta"),
        ("em 25/12/1990", "em vinte e cinco de dezembro de mil novecentos e noventa"),
        ("em 01/05", "em primeiro de maio"),
        ("em 2024-03-10", "em dez de março de dois mil e vinte e quatro"),
        ("o 1º e a 2ª", "o primeiro e a segunda"),
        ("o 21º andar", "o vigésimo primeiro andar"),
        ("1,5 kg e 1 km", "um vírgula cinco quilos e um quilômetro"),
        ("a 80 km/h", "a oitenta quilômetros por hora"),
        ("faz -3°C", "faz menos três graus Celsius"),
        ("caiu -5%", "caiu menos cinco por cento"),
        ("o Sr. Silva e a Dra. Ana, nº 5", "o senhor Silva e a doutora Ana, número cinco"),
        ("pão & vinho", "pão e vinho"),
        ("o código 007", "o código zero zero sete"),
        ("0,05 e 3,14", "zero vírgula zero cinco e três vírgula catorze"),
        ("a COVID-19", "a COVID-dezenove"),
        (
            "veja https://www.exemplo.com.br/pagina?x=1.",
            "veja dáblio dáblio dáblio ponto exemplo ponto com ponto br barra pagina.",
        ),
        ("escreva para ana@empresa.com", "escreva para ana arroba empresa ponto com"),
    ],
)
def test_portuguese_numbers_amounts_times_dates_and_abbreviations_are_written_out(written: str, spoken: str) -> None:
    assert normalize(written, "p") == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        (
            "La reunión de las 14:30 costó 1.250,50 €.",
            "La reunión de las catorce y treinta costó mil doscientos cincuenta euros con cincuenta céntimos.",
        ),
        ("un 25 % de descuento", "un veinticinco por ciento de descuento"),
        ("el 1.º de mayo y la 3.ª vez", "el primero de mayo y la tercera vez"),
        ("a la 1:00", "a la una hora"),
        ("el 12/10/2024", "el doce de octubre de dos mil veinticuatro"),
        ("el Sr. García y la Dra. Pérez", "el señor García y la doctora Pérez"),
        ("cuesta $ 5", "cuesta cinco dólares"),
        ("a 3,5 km", "a tres coma cinco kilómetros"),
        ("a las 21 horas", "a las veintiuna horas"),
        ("en www.ejemplo.es", "en uve doble uve doble uve doble punto ejemplo punto es"),
    ],
)
def test_spanish_is_written_out(written: str, spoken: str) -> None:
    assert normalize(written, "e") == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("La réunion de 14h30", "La réunion de quatorze heures trente"),
        ("à 21h", "à vingt et une heures"),
        ("1 250,50 €", "mille deux cent cinquante euros et cinquante centimes"),
        ("2 000 000 €", "deux millions d'euros"),
        ("€ 3 millions", "trois millions d'euros"),
        ("25 % de remise", "vingt-cinq pour cent de remise"),
        ("le 1er, la 1re et le 2e", "le premier, la première et le deuxième"),
        ("le 14/07/1789", "le quatorze juillet mille sept cent quatre-vingt-neuf"),
        ("le 01/05", "le premier mai"),
        ("M. Dupont et Mme Durand", "monsieur Dupont et madame Durand"),
        ("3,5 km", "trois virgule cinq kilomètres"),
        ("à 12 h 30 ou à 8 h du matin", "à douze heures trente ou à huit heures du matin"),
        ("anne@societe.fr", "anne arobase societe point fr"),
    ],
)
def test_french_is_written_out(written: str, spoken: str) -> None:
    assert normalize(written, "f") == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("alle 14:30", "alle quattordici e trenta"),
        ("costa 1.250,50 €", "costa milleduecentocinquanta euro e cinquanta centesimi"),
        ("il 25% di sconto", "il venticinque per cento di sconto"),
        ("il 1º e la 2ª", "il primo e la seconda"),
        ("il 25/04/1945", "il venticinque aprile millenovecentoquarantacinque"),
        ("il Sig. Rossi e la Dott.ssa Bianchi", "il signor Rossi e la dottoressa Bianchi"),
        ("5 kg", "cinque chili"),
        ("su https://www.esempio.it/pagina.", "su vu vu vu punto esempio punto it slash pagina."),
    ],
)
def test_italian_is_written_out(written: str, spoken: str) -> None:
    assert normalize(written, "i") == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("बैठक 14:30 बजे हुई", "बैठक चौदह बजकर तीस मिनट हुई"),
        ("9:00 बजे", "नौ बजे"),
        ("₹1,250.50 खर्च", "एक हज़ार दो सौ पचास रुपये और पचास पैसे खर्च"),
        ("Rs. 1 दिया", "एक रुपया दिया"),
        ("25% छूट", "पच्चीस प्रतिशत छूट"),
        ("2,50,000 लोग", "दो लाख पचास हज़ार लोग"),
        ("१२ लोग", "बारह लोग"),
        ("वह 5वाँ और 1ला और 2री", "वह पाँचवाँ और पहला और दूसरी"),
        ("15/08/1947 को", "पंद्रह अगस्त एक हज़ार नौ सौ सैंतालीस को"),
        ("डॉ. शर्मा", "डॉक्टर शर्मा"),
        ("3.5 किलो", "तीन दशमलव पाँच किलो"),
        ("www.example.in देखें", "डब्ल्यू डब्ल्यू डब्ल्यू डॉट example डॉट in देखें"),
    ],
)
def test_hindi_is_written_out(written: str, spoken: str) -> None:
    assert normalize(written, "h") == spoken


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "शून्य"),
        (19, "उन्नीस"),
        (99, "निन्यानवे"),
        (100, "एक सौ"),
        (1947, "एक हज़ार नौ सौ सैंतालीस"),
        (250_000, "दो लाख पचास हज़ार"),
        (12_345_678, "एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर"),
    ],
)
def test_hindi_numbers_follow_the_indian_scale(n: int, words: str) -> None:
    assert hindi_cardinal(n) == words


@pytest.mark.parametrize("code", ["a", "b", "j", "z"])
def test_english_japanese_and_chinese_text_is_left_to_their_own_g2p(code: str) -> None:
    assert normalize("It costs $5 at 14:30 on 25/12.", code) == "It costs $5 at 14:30 on 25/12."


def test_text_without_numbers_or_symbols_is_unchanged() -> None:
    text = "O gato dorme no sofá da sala enquanto a chuva cai lá fora."
    assert normalize(text, "p") == text


def test_each_written_span_keeps_its_spoken_words_so_timestamps_show_what_was_written() -> None:
    pieces = spoken_pieces("custou (R$ 1.250,00). Às 14h30!", "p")

    assert [(p.written, p.spoken, p.space_after) for p in pieces] == [
        ("custou", "custou", True),
        ("(R$ 1.250,00).", "(mil duzentos e cinquenta reais).", True),
        ("Às", "Às", True),
        ("14h30!", "catorze horas e trinta!", False),
    ]


def test_a_title_abbreviation_does_not_end_a_sentence() -> None:
    assert split_sentences("O Sr. Silva chegou. A Dra. Ana saiu.") == ["O Sr. Silva chegou.", "A Dra. Ana saiu."]
    assert split_sentences("Comprei pão, leite etc. Depois saí.") == ["Comprei pão, leite etc.", "Depois saí."]
