"""Line-level boilerplate: furniture lines (cookie, newsletter, share, navigation...), short lines
at the page's edges, and the article body as the best-scoring run of prose lines, ending at a
comment section.

Every pattern is linear (no nested quantifiers, bounded gaps), so a 10 MB line costs its length.
Each rule counts what it removes through the injected `counter_inc_fn`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate, islice

import numpy as np

from transforms.clean.unicode import BLANK_LINES_RE
from transforms.metrics import CounterIncFn
from transforms.records import count_words, words_up_to
from transforms.tokens import TokenHasher

__all__ = [
    "BoilerplateRule",
    "compile_boilerplate_rules",
    "drop_boilerplate",
    "trim_edges",
    "main_block",
    "cut_comments",
    "is_hard_wrapped",
    "paragraphs",
]

# Lines that are page furniture rather than text: (reason, pattern). Each pattern runs once over the
# whole text (MULTILINE, so ^ and $ are line edges) and a matched line is dropped only if it is
# short (see `_BOILERPLATE_MAX_WORDS`): an article paragraph that mentions cookies stays. Gaps
# inside a line are bounded (`.{0,200}`), so a long line costs linear time, never quadratic.
_GAP = ".{0,200}"
_BOILERPLATE_RULES = (
    # (reason, keywords of which one must occur in the lower-cased text, pattern). Each rule knows the
    # common forms in English, German, French, Spanish, Portuguese, Italian, Dutch and Russian.
    (
        "cookie",
        ("cookie",),
        rf"\bcookies?\b{_GAP}\b(use|uses|using|accept|policy|consent|settings|preferences|akzeptieren|accepter|aceptar"
        rf"|aceitar|accetta|accepteren)\b"
        rf"|\b(use|uses|using|accept|allow|reject|verwendet|verwenden|nutzt|utilise|utilisons|utiliza|utilizamos|usa"
        rf"|usamos|utilizza|gebruikt|использует|используем)\b{_GAP}\bcookies?\b",
    ),
    (
        "read_more",
        (
            "read",
            "see",
            "view",
            "show",
            "load",
            "continue",
            "click",
            "weiter",
            "mehr",
            "lire",
            "savoir",
            "leer",
            "seguir",
            "leia",
            "saiba",
            "legg",
            "lees",
            "читать",
            "подробнее",
        ),
        r"^(read|see|view|show|load) (more|full|all|the full)\b|^continue reading\b|^click here\b"
        r"|^(weiterlesen|mehr lesen|mehr dazu|lire la suite|en savoir plus|leer más|seguir leyendo|leia mais|saiba mais"
        r"|continua a leggere|leggi (di più|tutto)|lees meer|читать далее|подробнее)\b",
    ),
    (
        "newsletter",
        ("newsletter", "sign up", "subscribe", "abonn", "inscri", "suscr", "inscreva", "assine", "iscriv", "подпи"),
        rf"\b(sign up|subscribe)\b{_GAP}\b(newsletters?|updates|inbox|e-?mails?)\b|\bnewsletters?\b"
        r"|^(abonnieren|abonnez-vous|inscrivez-vous|suscr[ií]bete|suscribirse|inscreva-se|assine|iscriviti|abonneer"
        r"|подпишитесь|подписаться)\b",
    ),
    (
        # A request for money or membership addressed to the reader: it starts with the request and
        # ends with "!" or names who asks ("us", "our journalism"), so a short body sentence that
        # mentions support or a donation stays.
        "appeal",
        (
            "support",
            "donat",
            "contribut",
            "member",
            "patron",
            "give",
            "spend",
            "unterstütz",
            "don",
            "souten",
            "apoy",
            "apoi",
            "doe",
            "sosti",
            "steun",
            "поддерж",
            "пожертв",
        ),
        r"^(please |bitte |s'il vous plaît, )?(support|donate|give|contribute|become an? (member|supporter|patron|subscriber)"
        r"|join (us|our)|spenden sie|unterstützen sie|faites un don|soutenez|dona|haz una donación|apoya|apoie|doe|contribua"
        r"|sostieni|fai una donazione|steun|doneer|поддержите|пожертвуйте)\b"
        r"(.{0,160}!$|.{0,160}\b(us|our|your|today|now|here|journalism|newsroom|uns|unsere?n?|nous|notre|nos|nuestro"
        r"|nosso|nossa|ci|nostro|ons|onze|нас|наш\w*)\b)"
        r"|\b(needs|need) your (support|help|donation)\b",
    ),
    (
        # A list of payment methods (a shop's or a donation form's footer).
        "payment",
        ("visa", "mastercard", "paypal", "amex", "pay"),
        r"\b(visa|mastercard|paypal|amex|american express|apple pay|google pay|maestro|discover|klarna|sofort|ideal)\b"
        rf"{_GAP}\b(visa|mastercard|paypal|amex|american express|apple pay|google pay|maestro|discover|klarna|sofort|ideal)\b",
    ),
    (
        # A photo caption or credit: "Photo: ...", "(Image: GETTY)", "... AP Photo/...", "Getty Images".
        "caption",
        (
            "photo",
            "image",
            "picture",
            "foto",
            "bild",
            "credit",
            "getty",
            "shutterstock",
            "istock",
            "reuters",
            "afp",
            "(ap",
            "(file",
        ),
        r"^(photo|image|picture|foto|bild|credit|file photo)s?( credit)?:|^(photo|image|picture) (copyright|credit|courtesy)\b|\((photo|image|picture|foto|credit|getty|ap|reuters|afp"
        r"|file)\b[^)\n]{0,120}\)$|\b(getty images|shutterstock|istock(photo)?|ap photo|afp via getty|reuters/)",
    ),
    (
        # A link to another article in the body: "Related: ...", "Read also: ...", "Mehr: ...".
        "related",
        (
            "related",
            "read also",
            "see also",
            "also",
            "more",
            "mehr",
            "lesen sie",
            "lire aussi",
            "ver también",
            "lea también",
            "leia também",
            "veja também",
            "leggi anche",
            "lees ook",
            "читайте",
        ),
        r"^(related( articles?| stories| coverage| content)?|read also|also read|see also|lesen sie auch|lire aussi"
        r"|à lire aussi|ver también|lea también|leia também|veja também|leggi anche|lees ook|читайте также) ?:"
        r"|^(more|mehr)( (from|on|about|von|zu|aus) [^\n:.]{1,60})?:|^\[?(related|also):|^\[?related\]?$",
    ),
    (
        "share",
        ("share", "tweet", "pin", "email", "print"),
        r"^(share|tweet|pin|email|print)( (this|on|via) [\w ]{1,60})?$|^share (this|on)\b",
    ),
    (
        "javascript",
        ("javascript",),
        rf"\b(enable|requires?|turn on)\b{_GAP}\bjavascript\b|\bjavascript\b{_GAP}\b(disabled|enable)\b",
    ),
    ("copyright", ("©", "(c)", "copyright", "rights reserved"), r"^(©|\(c\)|copyright\b)|\ball rights reserved\b"),
    # C4's policy lines: links to the legal pages of the site.
    ("policy", ("terms", "privacy", "policy"), r"\b(terms of (use|service)|privacy (policy|notice)|cookie policy)\b"),
    (
        "navigation",
        ("skip", "back", "next", "previous", "advertisement", "sponsored", "log", "sign", "subscribe", "menu", "search", "home"),
        r"^(skip to (main )?content|back to top|next article|previous article|advertisement|"
        r"sponsored|log ?in|sign ?in|sign up|subscribe|menu|search|home)$",
    ),
)
_BOILERPLATE_MAX_WORDS = 15
# An appeal or a sign-up form is often a block: a heading the rules catch ("Sign up for our
# newsletter", "Support Snopes"), then sentences that explain or reassure ("No spam, we promise. You
# can unsubscribe at any time.", "We do this work every day at no cost to you, but..."). A line next
# to a caught appeal or sign-up line (blank lines aside) goes with it when it speaks to the reader
# and uses the vocabulary of such forms; the block stops at the first line that does not.
_BLOCK_REASONS = frozenset({"appeal", "newsletter"})
_BLOCK_MAX_WORDS = 60
_BUTTON_MAX_WORDS = 6
_BLOCK_MAX_LINES = 6  # on each side of the caught line: a block is a few lines, and the walk stays linear
_BLOCK_VOCABULARY_RE = re.compile(
    r"\b(subscri\w*|unsubscri\w*|newsletters?|inbox|sign(ing|ed)? up|opt-?in|spam|donat\w*|contribut\w*|membership"
    r"|become a (member|supporter|patron)|support (us|our|\w+ so)|activation link|no thanks|free of charge|for free"
    r"|abonn\w*|spende\w*|unterstütz\w*|inscri\w*|suscri\w*|assin\w*|iscriv\w*|подпи\w*|поддерж\w*)\b",
    re.IGNORECASE,
)
_READER_RE = re.compile(
    r"\b(you|your|yours|we|our|us|sie|ihr|ihre|uns|unsere?|vous|votre|nous|notre|usted|tu|nuestro|você|nosso|voi"
    r"|nostro|jij|je|jouw|wij|ons|onze|вы|ваш\w*|мы|нас|наш\w*)\b",
    re.IGNORECASE,
)
# Short lines without an end of sentence at the top or bottom of a page are menus, section names
# and bylines of the page template (jusText's observation: boilerplate clusters at the edges).
_EDGE_MAX_WORDS = 3
_SENTENCE_END = tuple(".!?:;\"'”’»)…。！？」』")
# Main block: a line that reads as prose (>= 10 words ending a sentence, or >= 25 words) adds its
# words, any other line subtracts 1.5x its words; the contiguous run of lines with the largest sum
# is the article body (Finn et al.'s body text extraction, on lines instead of HTML tokens).
_PROSE_MIN_WORDS = 10
_LONG_LINE_WORDS = 25
_SHORT_LINE_COST = 1.5
_WRAP_MAX_CHARS = 100
_WRAP_MAX_SENTENCE_ENDS = 0.8
# Scripts written without spaces (Chinese, Japanese, Thai...): about two characters make a word.
_UNSPACED_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# A line ending in a bare count, "Week 12 power rankings (133)", lists a link with its comments.
_COUNTER_END_RE = re.compile(r"\(\d+\)$")
# A long line cut off mid-sentence with an ellipsis is the teaser of a linked article ("... feels it
# is...", "Rekhi, 41,..."): neither prose nor furniture, so a list of teasers cannot outscore the body
# it surrounds. A sentence that trails off ("with difficulty....", "I thought..."") is prose.
_TRUNCATED_RE = re.compile(r"[\w,] ?(\.\.\.|\u2026)$")
_TRUNCATED_CHARS = 5  # the longest match of _TRUNCATED_RE: "w ..."
_ELLIPSES = ("...", "\u2026")
# The page title's own line (its <title>, usually the text's first line) repeated as a standalone
# line is the article's headline: the body follows it. A site name after a separator is not part of it.
_TITLE_SITE_SEP_RE = re.compile(r" (?:\||\u2013|\u2014|-|::|»|·) ")  # text is normalised to single spaces
_TITLE_MIN_TOKENS = 3
_TITLE_MAX_WORDS = 30
_TOKEN_RE = re.compile(r"\w+")
# A paragraph whose word 4-grams are mostly in the lines before it repeats them (a page that
# carries its article twice, a pull quote, a summary box): only its first occurrence is kept.
_REPEAT_SHINGLE = 4
_REPEAT_MIN_SHINGLES = 3
_REPEAT_SHARE = 0.8
_REPEAT_MIN_SEEN = math.ceil(_REPEAT_SHARE * _REPEAT_MIN_SHINGLES)  # shingles seen before in a repeat, at least
# Odd multipliers of the token hashes of a word 4-gram: its hash is their weighted sum (order counts).
_REPEAT_WEIGHTS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)
# The heading of a comment section ("12 Comments", "Leave a reply", "Join the discussion",
# "Kommentare", "[ 167 comments ]"): the body ends there. Only short lines count (a heading naming
# the article, "34 responses to “...”", may be long), and only inside the main block, never at its
# first line. Brackets and punctuation around a heading do not count.
_COMMENT_WORDS = (
    r"(comments?|responses?|replies|reactions?|discussion|coment[aá]rios?|kommentare?|commentaires?"
    r"|commenti|komentar|reacties|комментари[йи])"
)
_COMMENTS_RE = re.compile(
    rf"^(\d+ )?((top|most|all|latest|newest|recent|reader|user|view|show|load)( rated| recent| popular)? )?{_COMMENT_WORDS}"
    r"( \(\d+\))?:?$"
    r"|^(leave|post|add|write) a (comment|reply|response)\b|^join the (discussion|conversation)\b"
    rf"|^\d+ {_COMMENT_WORDS}\b|^show comments\b|^comments are closed\b",
    re.IGNORECASE,
)
# "34 responses to “Title”", "12 thoughts on ...": a numbered heading may name the article, at any length.
_NUMBERED_COMMENTS_RE = re.compile(r"^\d+ (thoughts?|responses?|comments?|replies) (on|to)\b", re.IGNORECASE)
_HEADING_EDGE = " \t[](){}<>|»«•·-–—:*#"
# The byline of one comment: "Name says:" (the WordPress default, and its translations), or a
# date or an age with a time of day ("November 19, 2019 at 6:34 am", "2 days ago at 07:52 am",
# "19/11/2019 às 10:12"). Two of them inside the main block start a comment section there.
_COMMENT_META_RE = re.compile(
    r"^\S.{0,60} (says|said|dice|disse|diz|schreibt|sagt|écrit|dit|scrive|zegt|mówi|пишет)( ?:)$"
    r"|^(\w{3,12}\.? \d{1,2},? \d{4}|\d{1,2}\.? \w{3,12}\.? \d{4}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
    r"|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago),? (at|às|a las|a les|um|à|alle|om|в) "
    r"\d{1,2}[:.h]\d{2}( ?[ap]\.?m\.?)?$",
    re.IGNORECASE,
)
_COMMENT_META_MIN = 2
_BYLINE_MAX_WORDS = 16
_NAME_MAX_WORDS = 4
_COMMENTS_MAX_WORDS = 8

BoilerplateRule = tuple[str, tuple[str, ...], re.Pattern[str]]  # (reason, keywords, compiled pattern)


def compile_boilerplate_rules() -> tuple[BoilerplateRule, ...]:
    """The furniture patterns compiled; built once per worker (`DoFn.setup()`)."""
    flags = re.IGNORECASE | re.MULTILINE
    return tuple((name, keys, re.compile(p, flags)) for name, keys, p in _BOILERPLATE_RULES)


def drop_boilerplate(text: str, rules: tuple[BoilerplateRule, ...], counter_inc_fn: CounterIncFn) -> str:
    """The text without the short lines a furniture rule matches (and the blocks around appeals and
    sign-ups). The rules run over the short lines only: a long paragraph is never furniture, and
    most of a page's characters are in its paragraphs."""
    lines = text.split("\n")
    short = [i for i, line in enumerate(lines) if line and words_up_to(line, _BOILERPLATE_MAX_WORDS) <= _BOILERPLATE_MAX_WORDS]
    if not short:
        return text
    candidates = "\n".join(lines[i] for i in short)
    starts = list(accumulate((len(lines[i]) + 1 for i in short[:-1]), initial=0))  # of each line in `candidates`
    low = candidates.lower()  # only to skip rules whose keywords are absent; matching runs on `candidates`
    drop: dict[int, str] = {}  # line index -> reason
    for name, keys, pattern in rules:
        if not any(key in low for key in keys):
            continue
        for match in pattern.finditer(candidates):
            drop.setdefault(short[bisect_right(starts, match.start()) - 1], name)
    if not drop:
        return text
    for index, reason in list(drop.items()):
        if reason in _BLOCK_REASONS:
            drop.update(dict.fromkeys(_block_around(lines, index), reason))
    for index in sorted(drop):
        counter_inc_fn(f"line-filtered:{drop[index]}")
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    return BLANK_LINES_RE.sub("\n\n", kept).strip()


def _block_line(line: str) -> bool:
    """A line that can belong to an appeal or sign-up block: in the vocabulary of such forms, and
    speaking to the reader, or a button ("Become a member", "Subscribe now": a few words that start
    with the request and do not end a sentence)."""
    words = count_words(line)
    found = _BLOCK_VOCABULARY_RE.search(line)
    if found is None or words > _BLOCK_MAX_WORDS:
        return False
    button = found.start() == 0 and words <= _BUTTON_MAX_WORDS and not line.endswith(".")
    return button or _READER_RE.search(line) is not None


def _block_around(lines: list[str], index: int) -> Iterator[int]:
    """The indices of the lines before and after `lines[index]` that continue its block (blank lines
    are skipped over, never part of it)."""
    for neighbours in (range(index - 1, -1, -1), range(index + 1, len(lines))):
        taken = 0
        for i in neighbours:
            if not lines[i].strip():
                continue
            if taken == _BLOCK_MAX_LINES or not _block_line(lines[i]):
                break
            yield i
            taken += 1


def _is_edge_furniture(line: str) -> bool:
    return not line or (words_up_to(line, _EDGE_MAX_WORDS) <= _EDGE_MAX_WORDS and not line.endswith(_SENTENCE_END))


def trim_edges(text: str, counter_inc_fn: CounterIncFn) -> str:
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and _is_edge_furniture(lines[start]):
        if lines[start]:
            counter_inc_fn("line-filtered:edge_short")
        start += 1
    while end > start and _is_edge_furniture(lines[end - 1]):
        if lines[end - 1]:
            counter_inc_fn("line-filtered:edge_short")
        end -= 1
    return "\n".join(lines[start:end])


def _ends_with_counter(line: str) -> bool:
    # The regex only where the line can match: `search` would try every "(" of a long paragraph.
    return line.endswith(")") and _COUNTER_END_RE.search(line) is not None


def _is_truncated(line: str) -> bool:
    # A match is at most 5 characters at the end; searching the whole line tries every word character.
    return line.endswith(_ELLIPSES) and _TRUNCATED_RE.search(line[-_TRUNCATED_CHARS:]) is not None


def _line_score(line: str, teasers: bool = True) -> float:
    words = count_words(line)
    if words == 0:
        return 0.0
    if not line.isascii():
        words += len(_UNSPACED_RE.findall(line)) // 2
    if words >= _PROSE_MIN_WORDS and line.endswith(_SENTENCE_END) and not _ends_with_counter(line):
        return 0.0 if teasers and _is_truncated(line) else float(words)
    if words >= _LONG_LINE_WORDS:
        return 0.0 if teasers and _is_truncated(line) else 0.5 * words
    return -_SHORT_LINE_COST * words


def is_hard_wrapped(lines: list[str]) -> bool:
    """Whether line breaks fall inside sentences: no line over 100 characters, most over 40, and not
    (nearly) every line ending a sentence.

    Web text has a paragraph per line; a hard-wrapped text (books, e-mail) breaks sentences across
    lines, so there a paragraph is a run of non-blank lines. Short web paragraphs also fit in 100
    characters, but each of them ends a sentence; wrapped lines (even verse and dialogue) mostly do not.
    """
    filled = [line for line in lines if line]
    if not filled or max(map(len, filled)) > _WRAP_MAX_CHARS or sum(len(line) >= 40 for line in filled) * 2 < len(filled):
        return False
    return sum(line.endswith(_SENTENCE_END) for line in filled) < _WRAP_MAX_SENTENCE_ENDS * len(filled)


def _units(lines: list[str]) -> list[tuple[int, int]]:
    """Line ranges scored as one unit: each line, or each paragraph when the text is hard-wrapped."""
    if not is_hard_wrapped(lines):
        return [(i, i + 1) for i in range(len(lines))]
    units, start = [], 0
    for i, line in enumerate(lines):
        if not line:
            if start < i:
                units.append((start, i))
            units.append((i, i + 1))
            start = i + 1
    if start < len(lines):
        units.append((start, len(lines)))
    return units


def paragraphs(text: str) -> list[str]:
    """The non-blank lines of a text, or its paragraphs joined into one line each when it is hard-wrapped."""
    lines = text.split("\n")
    return [joined for first, last in _units(lines) if (joined := " ".join(lines[first:last]).strip())]


def title_forms(title: str | None) -> frozenset[tuple[str, ...]]:
    """The word sequences a headline line may have: the whole title, and the title without the site
    name after its last separator ("Deportees return home | India Post"). Short titles give none."""
    if not title or title.endswith(".") or count_words(title) > _TITLE_MAX_WORDS:
        return frozenset()  # a sentence, not a headline
    parts = _TITLE_SITE_SEP_RE.split(title.strip())
    forms = {title, " ".join(parts[:-1]), parts[0]} if len(parts) > 1 else {title}
    tokens = (tuple(_TOKEN_RE.findall(form.lower())) for form in forms)
    return frozenset(t for t in tokens if len(t) >= _TITLE_MIN_TOKENS)


def _leading_tokens(line: str, limit: int) -> tuple[str, ...]:
    """The first `limit` lower-cased tokens of a line: a paragraph is not tokenised to its end to
    learn that it is longer than every title."""
    return tuple(match.group() for match in islice(_TOKEN_RE.finditer(line.lower()), limit))


def _best_run(scores: list[float], begin: int = 0) -> tuple[float, int, int]:
    """(sum, start, end) of the run of `scores[begin:]` with the largest positive sum (0, 0, 0 if none)."""
    best = current = 0.0
    start = best_start = best_end = begin
    for i in range(begin, len(scores)):
        if current <= 0:
            current, start = 0.0, i
        current += scores[i]
        if current > best:
            best, best_start, best_end = current, start, i + 1
    return best, best_start, best_end


def main_block(
    text: str, counter_inc_fn: CounterIncFn, titles: frozenset[tuple[str, ...]] = frozenset(), teasers: bool = True
) -> str:
    """The run of lines with the largest prose score; lines outside it are page furniture.

    With `titles` (`title_forms` of the page's title), the run starts after the first line (not
    the text's first) that repeats the title and has prose after it: the article's headline, below
    which teasers and menus before it cannot be the body. A text with no prose line at all is kept
    whole: there is nothing to anchor a body on. `teasers=False` scores truncated lines as any other
    (for the cleaning benchmark's ablation).
    """
    lines = text.split("\n")
    units = _units(lines)
    joined = [" ".join(lines[first:last]) for first, last in units]
    scores = [_line_score(line, teasers) for line in joined]
    best, best_start, best_end = _best_run(scores)
    if best <= 0:
        return text
    if titles:
        # A run after line i has a positive sum exactly when a positive line follows i.
        last_prose = max(i for i, score in enumerate(scores) if score > 0)
        longest = max(map(len, titles))
        for i in range(1, last_prose):
            if _leading_tokens(joined[i], longest + 1) in titles:
                _, best_start, best_end = _best_run(scores, i + 1)
                break
    keep_from, keep_to = units[best_start][0], units[best_end - 1][1]
    for line in (*lines[:keep_from], *lines[keep_to:]):
        if line:
            counter_inc_fn("line-filtered:outside_main_block")
    return "\n".join(lines[keep_from:keep_to])


def drop_repeated_paragraphs(text: str, counter_inc_fn: CounterIncFn, tokens: TokenHasher) -> str:
    """The text without each paragraph (a line, or a paragraph of a hard-wrapped text) whose word
    4-grams are at least 80% in the paragraphs kept before it.

    The 4-grams are hashes: every token of the text is hashed at once (`TokenHasher`), each 4-gram
    is a weighted sum of four token hashes, and a paragraph's are a slice of the text's.
    """
    lines = text.split("\n")
    units = _units(lines)
    if len(units) < 2:
        return text  # the first paragraph is never a repeat
    hashes, line_of = tokens.hashes_by_line(text)
    width = hashes.size - _REPEAT_SHINGLE + 1
    grams = sum(hashes[i : i + width] * _REPEAT_WEIGHTS[i] for i in range(_REPEAT_SHINGLE)) if width > 0 else hashes[:0]
    # The tokens of unit k are hashes[starts[k]:ends[k]]: a token never spans a line break.
    starts = np.searchsorted(line_of, [first for first, _ in units])
    ends = np.searchsorted(line_of, [last for _, last in units])
    if not _may_repeat(grams, starts, ends):
        return text
    return _drop_repeats(text, lines, units, grams, starts.tolist(), ends.tolist(), counter_inc_fn)


def _may_repeat(grams: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether some unit has its share of 4-grams in the units before it, kept or not, for all units
    at once: the units kept before one are among those, so when none has, none is a repeat.

    A repeat needs `_REPEAT_MIN_SEEN` 4-grams that are also in an earlier unit, so each of them
    twice in the text: most texts have fewer, which one sort tells (3 against 40 us a page)."""
    ordered = np.sort(grams)
    if np.count_nonzero(ordered[1:] == ordered[:-1]) < _REPEAT_MIN_SEEN:
        return False
    counts = np.maximum(ends - _REPEAT_SHINGLE + 1 - starts, 0)  # unit k's 4-grams: grams[starts[k]:][:counts[k]]
    total = int(counts.sum())
    if not total:
        return False
    unit = np.repeat(np.arange(counts.size), counts)
    offsets = np.cumsum(counts) - counts
    values = grams[np.arange(total) - offsets[unit] + starts[unit]]
    order = np.lexsort((unit, values))  # by value, then unit
    values, unit = values[order], unit[order]
    distinct = np.ones(total, dtype=bool)  # (value, unit) pairs once
    distinct[1:] = (values[1:] != values[:-1]) | (unit[1:] != unit[:-1])
    values, unit = values[distinct], unit[distinct]
    earlier = np.zeros(values.size, dtype=bool)  # the value is in a unit before this one
    earlier[1:] = values[1:] == values[:-1]
    shingles = np.bincount(unit, minlength=counts.size)
    seen = np.bincount(unit, weights=earlier, minlength=counts.size)
    return bool(np.any((shingles >= _REPEAT_MIN_SHINGLES) & (seen >= _REPEAT_SHARE * shingles)))


def _drop_repeats(
    text: str,
    lines: list[str],
    units: list[tuple[int, int]],
    grams: np.ndarray,
    starts: list[int],
    ends: list[int],
    counter_inc_fn: CounterIncFn,
) -> str:
    """`drop_repeated_paragraphs` unit by unit, each against the units kept before it."""
    seen: set[int] = set()
    kept: list[str] = []
    for (first, last), start, end in zip(units, starts, ends):
        shingles = set(grams[start : end - _REPEAT_SHINGLE + 1].tolist()) if end - start >= _REPEAT_SHINGLE else set()
        if len(shingles) >= _REPEAT_MIN_SHINGLES and len(shingles & seen) >= _REPEAT_SHARE * len(shingles):
            counter_inc_fn("line-filtered:repeated")
            continue
        seen |= shingles
        kept.extend(lines[first:last])
    return BLANK_LINES_RE.sub("\n\n", "\n".join(kept)).strip() if len(kept) < len(lines) else text


def _is_comment_heading(line: str, words: int) -> bool:
    """A heading never ends a sentence: "12 responses to the survey were negative." is body."""
    if line.endswith((".", "!", "?")):
        return False
    if _NUMBERED_COMMENTS_RE.match(line):
        return True
    return words <= _COMMENTS_MAX_WORDS and _COMMENTS_RE.search(line.strip(_HEADING_EDGE)) is not None


def _comment_start(lines: list[str]) -> int | None:
    """The line where a comment section starts: its heading, or the byline of its first comment when
    the block holds several bylines (a name line just before a dated byline goes with it)."""
    bylines = []
    for i, line in enumerate(lines[1:], start=1):
        words = words_up_to(line, _BYLINE_MAX_WORDS)  # both limits below are at most this
        if _is_comment_heading(line, words):
            return i
        if words <= _BYLINE_MAX_WORDS and _COMMENT_META_RE.match(line):
            bylines.append(i)
    if len(bylines) < _COMMENT_META_MIN:
        return None
    first = bylines[0]
    before = first - 1
    if (
        before > 0
        and lines[before]
        and count_words(lines[before]) <= _NAME_MAX_WORDS
        and not lines[before].endswith(_SENTENCE_END)
    ):
        return before
    return first


def cut_comments(text: str, counter_inc_fn: CounterIncFn) -> str:
    """The text up to where its comment section starts, if it has one."""
    lines = text.split("\n")
    start = _comment_start(lines)
    if start is None:
        return text
    for dropped in lines[start:]:
        if dropped:
            counter_inc_fn("line-filtered:comments")
    return "\n".join(lines[:start])
