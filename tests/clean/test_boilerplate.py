"""Appeals, sign-ups, payment lists and comment sections, in several languages; the headline; and
body sentences that only mention such words stay."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.clean.test_cleaning import RULES, counted, doc
from transforms.clean.boilerplate import (
    _COUNTER_END_RE,
    _TRUNCATED_RE,
    _ends_with_counter,
    _is_truncated,
    _units,
    cut_comments,
    drop_boilerplate,
    drop_repeated_paragraphs,
    main_block,
    title_forms,
)
from transforms.clean.document import CleanRules, clean_document
from transforms.config import CleanConfig
from transforms.metrics import noop_counter
from transforms.records import Document, count_words
from transforms.tokens import tokenize

BODY = (
    "The city council voted on Tuesday to rebuild the old harbour bridge, which has been closed since the spring "
    "floods damaged its piers.\n\n"
    "Engineers told the council that repairs would cost less than a new crossing and could be finished within two years.\n\n"
    "Residents welcomed the decision but asked for a ferry while the work goes on, because the detour adds forty "
    "minutes to a trip into town."
)

LATER = (
    "The council also approved a new budget for the town library, which will open on Sundays from next year.\n\n"
    "Its director said the extra hours would cost about as much as one new employee and would be paid for by a grant."
)


def dropped(line: str) -> dict[str, int]:
    """The counters of the line rules on a text that is the line between two body paragraphs."""
    counters: dict[str, int] = {}

    def inc(name: str, amount: int = 1) -> None:
        counters[name] = counters.get(name, 0) + amount

    kept = drop_boilerplate(f"{BODY}\n\n{line}\n\n{BODY}", (*RULES.boilerplate, *RULES.boundaries), inc)
    assert (line in kept.split("\n")) == (not counters)
    return counters


@pytest.mark.parametrize(
    "line",
    [
        "Support The Example Times!",
        "Please support our journalism today",
        "Donate now and keep local news free",
        "Become a member today",
        "Unterstützen Sie unsere Arbeit!",
        "Soutenez notre journalisme indépendant",
        "Apoya a nuestro periódico hoy",
        "Apoie o nosso jornalismo",
        "Sostieni il nostro giornale",
        "Steun ons werk",
        "Поддержите нас!",
        "Independent journalism needs your support",
    ],
)
def test_appeals_go_as_lines_in_many_languages(line):
    assert dropped(line) == {"line-filtered:appeal": 1}


@pytest.mark.parametrize(
    "line, reason",
    [
        ("Abonnieren Sie unseren Newsletter", "newsletter"),
        ("Inscrivez-vous à notre lettre d'information", "newsletter"),
        ("Suscríbete para recibir las noticias", "newsletter"),
        ("Weiterlesen", "read_more"),
        ("Lire la suite", "read_more"),
        ("Leia mais", "read_more"),
        ("Diese Website verwendet Cookies", "cookie"),
        ("Ce site utilise des cookies pour mesurer l'audience", "cookie"),
        ("Visa Mastercard PayPal Apple Pay", "payment"),
        ("Photo: The closed bridge in May", "caption"),
        ("Plague can be easily vaccinated (Image: GETTY)", "caption"),
        ("The harbour at dawn. Getty Images", "caption"),
        ("Related: Five bridges that outlived their towns", "related"),
        ("Lesen Sie auch: Die Brücke im Wandel der Zeit", "related"),
        ("Mehr: 10 things in tech", "related"),
        ("[Related: Five bridges that outlived their towns ]", "related"),
        ("Also: See the council's full report", "related"),
        ("Image Copyright @harbourcouncil", "caption"),
    ],
)
def test_sign_ups_read_more_cookies_and_payment_lists_in_other_languages(line, reason):
    assert dropped(line) == {f"line-filtered:{reason}": 1}


@pytest.mark.parametrize(
    "line",
    [
        "Support for the plan grew among farmers in the valley.",
        "The charity asked people to donate blankets.",
        "Give it a week, the mayor said.",
        "Die Stadt will die Vereine stärker unterstützen.",
        "Members of the board met on Monday.",
        "He paid with a Visa card at the ferry office.",
        "More than 200 people attended: the hall was full.",
        "The photographer sold the picture to a museum.",
        "Related families met at the harbour on Sunday.",
        "Related Module: means a set of source files including their documentation.",
    ],
)
def test_a_short_body_sentence_that_mentions_such_words_stays(line):
    assert dropped(line) == {}


_WORDS = ["the", "council", "said", "support", "donate", "donation", "our", "us", "today", "now", "members", "give",
          "journalism", "contribute", "town", "bridge", "residents", "will", "for", "a", "newsroom", "here"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["The", "Residents", "Officials", "Our", "Many", "In", "After"]),
    st.lists(st.sampled_from(_WORDS), min_size=3, max_size=40),
    st.sampled_from([".", "!", "?"]),
)
def test_a_body_sentence_not_addressed_to_the_reader_is_never_an_appeal(first, words, end):
    """Appeal words anywhere but at the start of a sentence that does not ask the reader: kept."""
    assert "line-filtered:appeal" not in dropped(" ".join([first, *words]) + end)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_WORDS + ["newsletter", "cookies", "subscribe", "paypal", "visa"]), min_size=16, max_size=60))
def test_a_long_paragraph_is_never_a_furniture_line(words):
    assert dropped("Support " + " ".join(words) + "!") == {}


def comments_cut(text: str) -> str:
    return cut_comments(text, noop_counter)


BYLINES = [
    "thelastchargersfan says:",
    "November 19, 2019 at 6:34 am",
    "It is a good thing we have no fans left because this season has gone very badly.",
    "joetoronto says:",
    "November 19, 2019 at 6:44 am",
    "It is time for both fans to come to grips with reality, it is over again.",
]


@pytest.mark.parametrize(
    "section",
    [
        ["34 responses to “Anthony Lynn: We needed to win this game, and we did not win it”", *BYLINES],
        ["[ 167 comments ]", "Top Rated Comments", *BYLINES[2:3]],
        BYLINES,
        ["Woyzeck", "2 days ago at 07:52 am", BYLINES[2], "Nick A", "2 days ago at 07:47 am", BYLINES[5]],
        ["Kommentare", BYLINES[2]],
        ["12 thoughts on “Harbour bridge to be rebuilt after the floods of this spring”", BYLINES[2]],
    ],
)
def test_a_comment_section_ends_the_body(section):
    assert comments_cut(BODY + "\n\n" + "\n".join(section)) == BODY + "\n"


def test_one_dated_line_or_prose_about_comments_does_not_cut():
    one = BODY + "\n\nNovember 19, 2019 at 6:34 am\n\n" + BODY
    assert comments_cut(one) == one
    prose = BODY + "\n\nThe comments of the engineers were read out at the meeting on Tuesday evening.\n\n" + BODY
    assert comments_cut(prose) == prose
    for sentence in ("12 responses to the survey were negative.", "34 comments on the plan were received by Friday."):
        numbered = BODY + "\n\n" + sentence + "\n\n" + BODY
        assert comments_cut(numbered) == numbered


def test_the_title_is_the_headline_never_an_appeal_or_a_caption():
    page = (
        "Support The Example Times!\n\nHarbour bridge to be rebuilt after floods\n\n"
        "Photo: The closed bridge in May (Jane Doe/Example Times)\n\n" + BODY + "\n\n"
        "Sign up for our newsletter to get the latest news in your inbox every morning.\n\n"
        "Donate today: independent journalism needs your support. Give now."
    )
    cleaned, counters = counted(page)
    assert cleaned.title == "Harbour bridge to be rebuilt after floods"
    assert cleaned.text == BODY
    assert counters["line-filtered:appeal"] == 2 and counters["line-filtered:newsletter"] == 1
    captioned = clean_document(doc("Photo: The closed bridge in May (Jane Doe/Example Times)\n\n" + BODY), RULES)
    assert captioned.title is None


def test_a_syndicated_copy_with_a_date_header_gets_its_date_and_headline():
    cleaned = clean_document(doc("date 2025-03-13\n\nHarbour bridge to be rebuilt after floods\n\n" + BODY), RULES)
    assert (cleaned.date, cleaned.title, cleaned.text) == ("2025-03-13", "Harbour bridge to be rebuilt after floods", BODY)


def test_a_rule_switched_off_for_the_ablation_leaves_its_lines():
    page = BODY + "\n\nSupport The Example Times!\n\n" + LATER + "\n\n" + "\n".join(BYLINES)
    full = clean_document(doc(page), RULES).text
    assert "Support The Example Times!" not in full and "joetoronto says:" not in full
    assert "Support The Example Times!" in clean_document(doc(page), CleanRules.build(CleanConfig(), off=["appeal"])).text
    assert "joetoronto says:" in clean_document(doc(page), CleanRules.build(CleanConfig(), off=["comments"])).text


TEASERS = [
    "Police: Two arrested after a fight at a steakhouse A party of six left without paying their bill after a fight in "
    "the restaurant on Saturday night, and police say two of them now face charges of assault and...",
    "Mayor says the vote on health benefits will not stand The mayor said on Monday that the council had acted in a way "
    "that he called underhanded, and that he would ask a judge to stop the plan before it takes effect…",
    "School board delays its decision on the new calendar again Parents and teachers filled the hall for a third "
    "meeting in a row, asking the board to keep the winter break as long as it was last year and...",
]


def test_the_page_title_repeated_as_a_headline_starts_the_body():
    headline = "Harbour bridge to be rebuilt after floods"
    menu_and_teasers = ["News", "Latest headlines", *TEASERS[:2], "Weather", "Sports"]
    page = "\n".join([f"{headline} | Example Times", *menu_and_teasers, headline, "November 19, 2019", *BODY.split("\n")])
    cleaned = clean_document(doc(page), RULES)
    assert cleaned.text == BODY
    # Without the headline line, the run with the most prose is kept, as before.
    without = page.replace(f"\n{headline}\n", "\n")
    assert clean_document(doc(without), CleanRules.build(CleanConfig(), off=["teasers"])).text.startswith("Police:")


def test_a_line_that_only_begins_with_the_title_is_not_the_headline():
    # The headline search reads a line's tokens only as far as the longest title form: a paragraph
    # that starts with the title's words and goes on is body, and does not move the block.
    headline = "Harbour bridge to be rebuilt"
    menu = ["News", "Latest headlines", TEASERS[0], "Weather"]
    longer = f"{headline} after floods, the council said on Tuesday, and work starts in the spring."
    page = "\n".join([*menu, longer, *BODY.split("\n")])
    assert main_block(page, noop_counter, title_forms(headline)) == main_block(page, noop_counter)
    exact = "\n".join([*menu, f"{headline}!", *BODY.split("\n")])
    assert main_block(exact, noop_counter, title_forms(headline)) == BODY


def test_title_forms_drop_the_site_name_and_are_never_sentences():
    assert ("harbour", "bridge", "to", "be", "rebuilt") in title_forms("Harbour bridge to be rebuilt | Example Times")
    assert ("harbour", "bridge", "to", "be", "rebuilt", "example", "times") in title_forms(
        "Harbour bridge to be rebuilt – Example Times"
    )
    assert title_forms("The council voted to rebuild the bridge.") == frozenset()
    assert title_forms("Home | News") == frozenset()  # too short to be told apart from a menu
    assert title_forms(None) == frozenset()


def test_a_title_line_that_comes_only_after_the_body_does_not_move_it():
    page = "Harbour bridge to be rebuilt\n\n" + BODY + "\n\nMost read\n\nHarbour bridge to be rebuilt\n\nWeather"
    assert main_block(page, noop_counter, title_forms("Harbour bridge to be rebuilt")) == BODY


def test_truncated_teasers_cannot_outscore_the_body():
    page = "\n".join(["Latest news", *TEASERS, "Read the story", *BODY.split("\n"), "More stories", *TEASERS])
    assert main_block(page, noop_counter) == BODY
    assert TEASERS[0] in main_block(page, noop_counter, teasers=False)


def test_prose_that_trails_off_is_not_a_teaser():
    trailing = [
        '"At the doorway he appears, swaying with some profound emotion, and he has not yet gone to bed...."',
        '"Then," said Boon, "I get my crowning chapter: the breakfast, and something almost palpable in the air..."',
    ]
    text = "\n\n".join([*trailing, *BODY.split("\n\n")])
    assert main_block(text, noop_counter) == text


TOKENS = RULES.tokens


def _repeated_by_word_tuples(text: str) -> str:
    """drop_repeated_paragraphs as first written, on tuples of token strings: the reference."""
    seen: set = set()
    lines = text.split("\n")
    kept: list[str] = []
    for first, last in _units(lines):
        words = tokenize(" ".join(lines[first:last]))
        shingles = set(zip(*(words[i:] for i in range(4))))
        if len(shingles) >= 3 and len(shingles & seen) >= 0.8 * len(shingles):
            continue
        seen |= shingles
        kept.extend(lines[first:last])
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() if len(kept) < len(lines) else text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["the", "bridge", "Floods", "pier", "ferry", "Σίσυφος", "naïve", "42", "_x"]), max_size=12).map(
            " ".join
        )
        | st.sampled_from(["", "Share", "THE BRIDGE THE FLOODS THE PIER"]),
        max_size=12,
    ).map("\n".join)
)
def test_repeated_paragraphs_by_hashes_equal_the_reference_on_word_tuples(text):
    assert drop_repeated_paragraphs(text, noop_counter, TOKENS) == _repeated_by_word_tuples(text)


def test_a_paragraph_repeated_later_in_the_page_is_kept_once():
    counters: dict[str, int] = {}

    def inc(name: str, amount: int = 1) -> None:
        counters[name] = counters.get(name, 0) + amount

    first = BODY.split("\n")[0]
    text = BODY + "\n\nShare\n\n" + first.upper() + "\n\nShare\n\n" + LATER
    kept = drop_repeated_paragraphs(text, inc, TOKENS)
    assert kept == BODY + "\n\nShare\n\nShare\n\n" + LATER  # case-blind; short lines stay
    assert counters == {"line-filtered:repeated": 1}
    # A paragraph that shares less than 80% of its word 4-grams with earlier lines is new text.
    edited = first.replace("which has been closed since the spring floods damaged its piers", "and to build a new ferry pier")
    assert edited in drop_repeated_paragraphs(BODY + "\n\n" + edited, noop_counter, TOKENS)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Harbour bridge to be rebuilt after floods",
                "Harbour bridge to be rebuilt after floods | Example Times",
                *BODY.split("\n\n"),
                *LATER.split("\n\n"),
                *TEASERS,
                "Share",
                "",
                "12 Comments",
            ]
        ),
        max_size=14,
    ).map("\n".join)
)
def test_cleaning_with_titles_teasers_and_repeats_is_idempotent(text):
    cleaned = clean_document(doc(text), RULES)
    if isinstance(cleaned, Document):
        again = clean_document(doc(cleaned.text), RULES)
        assert isinstance(again, Document) and again.text == cleaned.text


SIGN_UP_BLOCK = [
    "Sign up for our e-mail newsletters",
    "No spam, we promise. You can unsubscribe at any time and we will never share your details without your permission.",
    "Get the best of our reporting delivered to your inbox every morning, free of charge.",
]
DONATION_BLOCK = [
    "Support The Example Times!",
    "We do this work every day at no cost to you, but it is far from free to produce. A contribution of any size "
    "keeps local news open for everyone, so please consider a donation today.",
    "Become a member",
]


@pytest.mark.parametrize(("block", "reason"), [(SIGN_UP_BLOCK, "newsletter"), (DONATION_BLOCK, "appeal")])
def test_an_appeal_or_sign_up_block_goes_as_a_whole(block, reason):
    counters: dict[str, int] = {}

    def inc(name: str, amount: int = 1) -> None:
        counters[name] = counters.get(name, 0) + amount

    for layout in ("\n\n".join(block), "\n".join(block)):
        counters.clear()
        kept = drop_boilerplate(f"{BODY}\n\n{layout}\n\n{LATER}", RULES.boilerplate, inc)
        assert kept == f"{BODY}\n\n{LATER}"
        assert counters == {f"line-filtered:{reason}": len(block)}


def test_a_block_stops_at_a_line_that_does_not_speak_to_the_reader_of_such_forms():
    news = "The charity said donations and new subscriptions rose by a third after the floods this spring."
    other = "Get breaking news and the latest updates on the harbour works and more!"
    for neighbour in (news, other, "Support for the plan grew.", "Donations rose by a third."):
        kept = drop_boilerplate(
            f"{BODY}\n\n{SIGN_UP_BLOCK[0]}\n\n{neighbour}\n\n{SIGN_UP_BLOCK[1]}", RULES.boilerplate, noop_counter
        )
        assert neighbour in kept.split("\n") and SIGN_UP_BLOCK[1] in kept.split("\n")


_THIRD_PERSON = [w for w in _WORDS if w not in ("our", "us")] + ["subscribers", "newsletter", "donations", "membership", "spam"]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["The", "Residents", "Officials", "Many", "In", "After"]),
    st.lists(st.sampled_from(_THIRD_PERSON), min_size=3, max_size=50),
    st.sampled_from([".", "!", "?"]),
)
def test_a_body_sentence_beside_an_appeal_stays_unless_it_speaks_to_the_reader(first, words, end):
    """Next to a caught appeal or sign-up line, a sentence that only mentions donations, members or
    newsletters (no "you", "we", "our" ...) is body text."""
    sentence = " ".join([first, *words]) + end
    for caught in ("Support The Example Times!", "Sign up for our newsletter"):
        kept = drop_boilerplate(f"{BODY}\n\n{caught}\n\n{sentence}\n\n{LATER}", RULES.boilerplate, noop_counter)
        assert sentence in kept.split("\n") or count_words(sentence) <= 15


def test_a_notice_where_the_article_ends_still_bounds_the_body():
    """ "Read more", share, JavaScript and copyright lines go after the body is chosen: removed first,
    the JavaScript notice here would let the body run on into the offer below it."""
    offer = "Get the monthly magazine delivered through your letterbox, twelve issues for £11.99."
    page = f"{BODY}\n\nSend us your review\n\nThis slideshow requires JavaScript.\n\n{offer}"
    assert clean_document(doc(page), RULES).text == BODY
    inside = f"{BODY}\n\nThis slideshow requires JavaScript.\n\n{LATER}"
    counters: dict[str, int] = {}
    cleaned = clean_document(doc(inside), RULES, lambda name, amount=1: counters.update({name: counters.get(name, 0) + amount}))
    assert cleaned.text == f"{BODY}\n\n{LATER}" and counters["line-filtered:javascript"] == 1


def _per_line_reference(text: str, rules) -> str:
    """What `drop_boilerplate` does, one line at a time: a short line that a rule's pattern matches goes
    (and a text that loses no line comes back as it was)."""
    lines = text.split("\n")
    kept = [
        line for line in lines if not (line and count_words(line) <= 15 and any(pattern.search(line) for _, _, pattern in rules))
    ]
    return text if len(kept) == len(lines) else re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


_FURNITURE = ["Read more", "We use cookies to improve your experience.", "Share this", "Photo: Jane Doe/Example Times",
              "© 2019 Example Times", "Related: Harbour bridge closed", "Home", "Pay with Visa or Mastercard",
              "Please enable JavaScript to view the comments."]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_FURNITURE, *BODY.split("\n"), *TEASERS, "Privacy policy and terms of use", " "]), max_size=20))
def test_line_rules_run_on_short_lines_as_on_each_line(lines):
    """Running the rules over the short lines joined (the fast path) removes what each line alone would;
    appeal and sign-up rules are left out here, as they also take their blocks."""
    rules = tuple(rule for rule in (*RULES.boilerplate, *RULES.boundaries) if rule[0] not in ("appeal", "newsletter"))
    text = "\n".join(lines)
    assert drop_boilerplate(text, rules, noop_counter) == _per_line_reference(text, rules)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*"ab1 ,.()…\u00e9", "...", " (12)", "w ..."]), max_size=20).map("".join))
def test_line_end_checks_agree_with_their_regexes_on_the_whole_line(line):
    """The end-of-line prechecks only skip lines the regexes cannot match."""
    assert _is_truncated(line) == (_TRUNCATED_RE.search(line) is not None)
    assert _ends_with_counter(line) == (_COUNTER_END_RE.search(line) is not None)
