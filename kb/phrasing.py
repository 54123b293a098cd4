"""What an agent typed, reduced to what should be searched for. Pure.

Agents type mid-call the way people talk: "customer wants to know the CHAPS fee", "cust
says her card ending 4821 was stolen", "hi, quick one, 客户想知道…". The wrapper words are
not the question: left in, they dilute the share of question words a passage contains (so
confidence falls and a covered question is refused), and typed numbers ("card ending 4821",
a phone number) are matched as if they were content. This module strips both, and keeps
everything that carries meaning: amounts, times, durations and the words themselves.

Typos are handled elsewhere (kb.spelling), because correcting them needs the knowledge
base's own vocabulary.
"""

from __future__ import annotations

import re

from kb.pii import PLACEHOLDER, mask

# Who is speaking, then what they want: "customer wants to know", "cust says", "cx asking
# about", "caller would like", "the client is wondering whether"...
_WHO = r"(?:the\s+|my\s+|a\s+|our\s+)?(?:customer|cust|cx|caller|client|member|cardholder|lady|gentleman|guy|man|woman|she|he|they)"
_WANTS = (
    r"(?:(?:is|was|s|'s)\s+)?(?:just\s+|now\s+|also\s+)?"
    r"(?:wants?|would\s+like|wishes|needs?|asks?|asking|asked|says?|said|saying|tells?\s+me|"
    r"told\s+me|is\s+wondering|wondering|wonders|enquir(?:es|ing|ed)|inquir(?:es|ing|ed)|"
    r"calling|called|rang|phoned|on\s+the\s+line|on\s+the\s+phone|has\s+a\s+question|"
    r"queries|querying|requests?|requesting|reports?|reporting|claims?|claiming)"
)
_WHAT = (
    r"(?:\s+(?:to\s+know|to\s+find\s+out|to\s+check|to\s+ask|to\s+understand|me|us|you|"
    r"about|regarding|re|if|whether|that|for|on))*"
)
_SPEAKER = re.compile(rf"\b{_WHO}\s+{_WANTS}{_WHAT}\b[\s,:-]*", re.IGNORECASE)
_OPENERS = re.compile(
    r"^(?:\s*(?:hi|hello|hey|ok|okay|right|so|um+|uh+|er+|erm|quick\s+(?:one|question|q)|"
    r"question|q|sorry|yes|yeah|hiya|morning|afternoon|good\s+(?:morning|afternoon)|"
    r"i(?:\s+have|\s+got|\s+have\s+got|'ve\s+got|\s*ve\s+got)\s+a\s+(?:customer|caller|cust|cx)"
    r"(?:\s+on\s+the\s+(?:line|phone))?|"
    r"can\s+you\s+(?:tell|help)\s+me|could\s+you\s+(?:tell|help)\s+me|"
    r"i\s+need\s+to\s+know|do\s+you\s+know|need\s+help(?:\s+with)?|please\s+advise|"
    r"can\s+i\s+check|just\s+checking)\b[\s,.:!-]*)+",
    re.IGNORECASE,
)
_CLOSERS = re.compile(
    r"[\s,.;:!-]*(?:thanks?(?:\s+you)?|thx|ty|cheers|pls|please|asap|please\s+advise|"
    r"any\s+ideas?|help)[\s.!?]*$",
    re.IGNORECASE,
)
_CJK_SPEAKER = re.compile(
    r"(?:你好|您好|请问|麻烦问一下|問一下|问一下)[，,、\s]*"
    r"|(?:来电|來電)?(?:客户|客戶|顾客|顧客|来电人|來電人|持卡人)(?:现在|現在|刚才|剛才)?"
    r"(?:想知道|想问|想問|问|問|说|說|表示|咨询|諮詢|询问|詢問|反映|要求|称|稱|来电|來電)[，,:：\s]*"
    r"|[，,\s]*(?:谢谢|謝謝|多谢|多謝)[！!。.\s]*$"
)
# Typed customer data that is not content: card ends, reference and phone numbers. Amounts
# (£500, 3%), times (15:30) and small counts ("3 days") are content and stay.
_TYPED_NUMBERS = re.compile(
    r"\b(?:card|acct|account|a/c|ref(?:erence)?|ph(?:one)?|mob(?:ile)?|tel|sort\s+code|"
    r"id|customer\s+(?:no|number)|cif|policy|dob|d\.o\.b|date\s+of\s+birth|birth\s?date|"
    r"birthday|born(?:\s+on)?)\b\.?\s*(?:no\.?|number|ending(?:\s+in)?|"
    r"ends?\s+in|last\s+(?:4|four)(?:\s+digits)?|#|:)?\s*(?:[*xX#]*[\d][\d\s-]{2,}\d|\x00)"
    r"|(?<![\d£$€.,:])\d{5,}(?![\d%:.,]\d)"
    r"|(?:(?:身份证|身份證)(?:号码|號碼)?(?:尾号|尾號)?|尾号|尾號|卡号|卡號|账号|帳號|电话|電話|手机|手機"
    r"|编号|編號|出生日期|生日)[:：\s]*(?:[*xX#]*\d[\d\s-]*|\x00)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_EXPANSIONS = {
    "whats": "what is", "hows": "how is", "wheres": "where is", "whens": "when is",
    "whos": "who is", "cant": "cannot", "dont": "do not", "doesnt": "does not",
    "didnt": "did not", "isnt": "is not", "wont": "will not", "im": "I am",
}  # fmt: skip
_APOSTROPHE_LESS = re.compile(r"\b(?:" + "|".join(_EXPANSIONS) + r")\b", re.IGNORECASE)
"""Contractions typed without the apostrophe ("whats the fee"): as words they would count
as content that no passage contains."""


def strip_typed_data(text: str) -> str:
    """The text without customer data: masked placeholders and typed numbers removed,
    keeping the words that introduced them ("card ending 4821" -> "card")."""
    masked = PLACEHOLDER.sub(" \x00", mask(text).text)  # one mark per masked item

    def keep_label(match: re.Match[str]) -> str:
        before = masked[: match.start()].rstrip()
        if not before or before[-1] in "?？.。!！,，;；-":
            return " "  # a datum appended to the question ("…fee? card ending 4821")
        label = re.match(r"[^\d*xX#:：]+", match.group())
        word = label.group().split()[0] if label and label.group().split() else ""
        word = {"acct": "account", "a/c": "account"}.get(word.lower(), word)
        return f" {word} " if word.lower() in ("card", "account") else " "

    without = _TYPED_NUMBERS.sub(keep_label, masked).replace("\x00", " ")
    return _SPACES.sub(" ", without).strip()


def search_text(question: str) -> str:
    """The question as it should be searched: without who-said-what wrappers, greetings,
    sign-offs and typed customer data. Falls back to the original when nothing would be left,
    so a question made only of filler is still searched as typed."""
    text = strip_typed_data(question)
    text = _APOSTROPHE_LESS.sub(lambda m: _EXPANSIONS[m.group().lower()], text)
    text = _OPENERS.sub("", text)
    text = _SPEAKER.sub(" ", text)
    text = _CJK_SPEAKER.sub("", text)
    text = _CLOSERS.sub("", text)
    text = _SPACES.sub(" ", text).strip(" ,;:-")
    return text if re.search(r"\w", text) else question.strip()
