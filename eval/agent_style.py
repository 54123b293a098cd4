"""Agent-style phrasings of the golden questions: how an agent really types mid-call.

The golden questions were written carefully, by reading the documents. Agents type fast,
with a customer talking in their ear: "cx asking whats the fee for express card", typos,
the customer's card number pasted in, a paragraph of context around the question. This
module rewrites each golden question (must-refuse ones included: they must still be
refused) with deterministic rules, a different method from the one that wrote the golden
set, so `kb eval` can say how much of the measured quality survives real typing.

The patterns imitate real customer messages to a bank (BANKING77, kb/data/banking77/
test.csv, CC BY 4.0): dropped apostrophes ("dont", "im"), lower case and no final
punctuation, urgency ("asap", "please sort this out"), terse fragments. None of those
messages is copied.

Each record keeps the golden schema (gold documents, expected facts and steps unchanged:
the meaning is the same) and adds `derived_from` (the golden id) and `rewrite` (the rules
applied, in order). `python -m eval.agent_style` writes eval/data/agent-style.jsonl.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SEED = 20261125
DATA = Path(__file__).parent / "data"
OUTPUT = DATA / "agent-style.jsonl"

RULES = ("typo", "no_apostrophes", "customer_data", "prefix", "ramble", "lowercase_nopunct")
"""Every rule, in the order they are applied when chosen."""

PREFIXES = {
    "en": (
        "customer wants to know",
        "cust says",
        "cx asking",
        "caller asks",
        "customer asking",
        "cust wants to know",
    ),
    "zh": ("客户问", "客户想知道", "客户说", "来电客户问"),
}
ZH_ASIDES = ("问一下", "请问", "帮忙查下")
"""For Chinese questions that already start with 客户: "客户问客户…" is not how anyone types."""
SEPARATORS = {"en": (" ", ": ", " - "), "zh": ("", "：", "，")}
CUSTOMER_DATA = {
    "en": (
        "card ending 4821",
        "acct 12345678",
        "ph 07700 900123",
        "sort code 20-00-00 acct 12345678",
        "card ending 0392, dob 14/03/1985",
    ),
    "zh": ("手机13812345678", "卡号尾号4821", "账号6222021234567890", "身份证尾号0318"),
}
RAMBLES = {
    "en": (
        "hi so I've got a customer on the line, she's a bit upset, {q} ... thanks",
        "sorry quick one, caller getting impatient, {q} cheers",
        "hi, customer on hold, he's been going round in circles with the app all morning "
        "and wants this sorted asap, basically {q} thanks",
        "hello, I have a lady on the phone, elderly, bit confused, her son usually does this "
        "for her - {q} ... thank you",
    ),
    "zh": (
        "你好，我这边有个客户在线上，她有点着急，{q}……谢谢",
        "不好意思问一下，客户在电话里等着，说了半天，{q} 麻烦了",
        "您好，来电客户情绪有点激动，一直说要投诉，{q}，谢谢",
    ),
}
CHANCES = {
    # rule: probability it is chosen for a question it can apply to
    "typo": 0.5,
    "no_apostrophes": 0.6,
    "customer_data": 0.35,
    "lowercase_nopunct": 0.5,
}
FRAMING = (("prefix", 0.55), ("ramble", 0.25))  # otherwise the question stands alone


def _neighbours() -> dict[str, str]:
    """Neighbouring keys on a UK QWERTY keyboard: a finger landing one key off."""
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    found: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            near = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            for other in (r - 1, r + 1):
                if 0 <= other < len(rows):
                    near += [rows[other][i] for i in (c - 1, c, c + 1) if 0 <= i < len(rows[other])]
            found[key] = "".join(dict.fromkeys(near))
    return found


NEIGHBOURS = _neighbours()
STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "because",
        "before",
        "being",
        "below",
        "between",
        "could",
        "doesn",
        "during",
        "every",
        "their",
        "there",
        "these",
        "those",
        "through",
        "under",
        "until",
        "where",
        "which",
        "while",
        "would",
        "should",
        "what's",
        "where's",
        "there's",
        "shall",
        "might",
    ]
)
_WORD = re.compile(r"[A-Za-z][A-Za-z']*[A-Za-z]|[A-Za-z]")
_LATIN_PUNCT = re.compile(r"[?!.,;:](?!\d)|(?<!\d)[?!.,;:]")
_CJK_PUNCT = re.compile(r"[？。，！、；：…?!,.]")


@dataclass(frozen=True)
class Rewrite:
    """A rewritten question and the rules that made it, in the order applied."""

    text: str
    rules: tuple[str, ...]
    typos: tuple[tuple[str, str], ...] = ()  # (original word, typed word)


# ---------------------------------------------------------------- the rules, one text each


def typo_candidates(text: str) -> list[str]:
    """Content words a typo may hit: letters only, five or more, not an acronym (agents
    type those carefully), not a function word."""
    words = []
    for word in _WORD.findall(text):
        if "'" in word or len(word) < 5 or word.lower() in STOPWORDS:
            continue
        if word.isupper() or any(ch.isupper() for ch in word[1:]):
            continue
        if word not in words:
            words.append(word)
    return words


def misspell(word: str, rng: random.Random) -> str:
    """One slip of the finger, never on the first letter: a neighbouring key, two letters
    swapped, or a letter dropped."""
    position = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("neighbour", "swap", "drop"))
    if kind == "neighbour":
        letter = word[position]
        near = NEIGHBOURS.get(letter.lower(), "")
        if near:
            typed = rng.choice(near)
            return (
                word[:position]
                + (typed.upper() if letter.isupper() else typed)
                + word[position + 1 :]
            )
        kind = "drop"
    if kind == "swap" and word[position] != word[position + 1]:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + word[position + 1 :]


def add_typos(text: str, rng: random.Random) -> tuple[str, tuple[tuple[str, str], ...]]:
    """One or two misspelt content words (see typo_candidates)."""
    candidates = typo_candidates(text)
    if not candidates:
        return text, ()
    chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2))))
    changes = []
    for word in chosen:
        typed = misspell(word, rng)
        if typed != word:
            text = re.sub(rf"\b{re.escape(word)}\b", typed, text, count=1)
            changes.append((word, typed))
    return text, tuple(changes)


def drop_apostrophes(text: str) -> str:
    """what's -> whats, can't -> cant, customer's -> customers (as in BANKING77)."""
    return re.sub(r"(?<=[A-Za-z])['’](?=[A-Za-z])", "", text)


def lowercase_nopunct(text: str, language: str) -> str:
    """Lower case and no sentence punctuation; times (16:00), amounts (39.9%, £1,000) and
    sort codes keep theirs because the punctuation sits between digits."""
    if language == "zh":
        return " ".join(_CJK_PUNCT.sub(" ", text).split())
    return " ".join(_LATIN_PUNCT.sub(" ", text.lower()).split())


def _lower_first(text: str) -> str:
    """Lower the first letter unless the first word is an acronym or "I"."""
    first = text.split(" ", 1)[0]
    if not text or first.isupper() or first in {"I", "I'm", "I've"} or not text[0].isalpha():
        return text
    return text[0].lower() + text[1:]


def add_prefix(text: str, language: str, rng: random.Random) -> str:
    prefixes = PREFIXES[language]
    if language == "zh" and text.startswith("客户"):
        prefixes = ZH_ASIDES
    prefix = rng.choice(prefixes)
    separator = rng.choice(SEPARATORS[language])
    body = _lower_first(text) if language == "en" else text
    return f"{prefix}{separator}{body}"


def add_customer_data(text: str, language: str, rng: random.Random) -> str:
    """Masked or typed customer details, before or after the question, as pasted from
    the screen."""
    data = rng.choice(CUSTOMER_DATA[language])
    if language == "zh":
        return f"{data}，{text}" if rng.random() < 0.5 else f"{text} {data}"
    if rng.random() < 0.5:
        return f"{data} - {_lower_first(text)}"
    return f"{text} ({data})" if rng.random() < 0.5 else f"{text} {data}"


def ramble(text: str, language: str, rng: random.Random) -> str:
    body = _lower_first(text) if language == "en" else text
    return rng.choice(RAMBLES[language]).format(q=body)


# ---------------------------------------------------------------- choosing and applying


def choose_rules(text: str, language: str, rng: random.Random) -> tuple[str, ...]:
    """Which rules a question gets: a framing (prefix or rambling) most of the time, each
    other rule by its chance where it can apply, and always at least one rule."""
    chosen: set[str] = set()
    draw = rng.random()
    cumulative = 0.0
    for rule, chance in FRAMING:
        cumulative += chance
        if draw < cumulative:
            chosen.add(rule)
            break
    for rule, chance in CHANCES.items():
        if rng.random() >= chance:
            continue
        if rule == "typo" and (language != "en" or not typo_candidates(text)):
            continue
        if rule == "no_apostrophes" and drop_apostrophes(text) == text:
            continue
        chosen.add(rule)
    if not chosen:
        chosen.add("prefix")
    return tuple(rule for rule in RULES if rule in chosen)


def rewrite(text: str, language: str, rng: random.Random) -> Rewrite:
    """One agent-style version of a question (pure given the generator's state)."""
    rules = choose_rules(text, language, rng)
    typos: tuple[tuple[str, str], ...] = ()
    steps: dict[str, Callable[[str], str]] = {
        "no_apostrophes": drop_apostrophes,
        "customer_data": lambda t: add_customer_data(t, language, rng),
        "prefix": lambda t: add_prefix(t, language, rng),
        "ramble": lambda t: ramble(t, language, rng),
        "lowercase_nopunct": lambda t: lowercase_nopunct(t, language),
    }
    applied = []
    for rule in rules:
        if rule == "typo":
            text, typos = add_typos(text, rng)
            if not typos:
                continue
        else:
            text = steps[rule](text)
        applied.append(rule)
    return Rewrite(text=text, rules=tuple(applied), typos=typos)


def rewrite_record(record: dict, seed: int = SEED) -> dict:
    """A golden JSONL record rewritten: a new dict, same fields and gold, new id and text,
    plus derived_from and rewrite. The generator is seeded per question, so adding or
    reordering golden questions leaves the other rewrites as they were."""
    rng = random.Random(f"{seed}:{record['_id']}")
    made = rewrite(record["text"], record.get("language", "en"), rng)
    return {
        **record,
        "_id": f"agent-{record['_id']}",
        "text": made.text,
        "derived_from": record["_id"],
        "rewrite": list(made.rules),
    }


def rewrite_all(records: Sequence[dict], seed: int = SEED) -> list[dict]:
    return [rewrite_record(r, seed) for r in records]


def read_records(paths: Sequence[Path]) -> list[dict]:
    records = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def write_agent_style(out: Path = OUTPUT, seed: int = SEED) -> int:
    records = rewrite_all(read_records(sorted(DATA.glob("golden-*.jsonl"))), seed)
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return len(records)


if __name__ == "__main__":  # python -m eval.agent_style
    count = write_agent_style()
    print(f"wrote {count} agent-style questions to {OUTPUT}")
