"""Pure parts of answers an agent can trust: agent phrasing, the call as context, the
authoritative procedure, facts that conflict or change, readable headlines."""

from __future__ import annotations

import datetime as dt

from kb.answer import best_sentences, build_answer, claim_to_check, highlight, review_facts
from kb.conversation import plan_search
from kb.facts import chunk_facts, column_in_force, render_row, same_thing
from kb.lexical import tokenize
from kb.phrasing import search_text
from kb.procedures import (
    ProcedureOption,
    choose_procedure,
    gather_options,
    procedure_sections,
    referenced_documents,
)
from kb.types import Category, Chunk, ChunkKind, DocumentInfo, Hit, Turn


def info(doc, title=None, effective=None):
    return DocumentInfo(
        doc, 1, title or doc.title(), f"{doc}.docx", "docx", "en", Category.PROCEDURE,
        effective, None, ("everyone",),
    )  # fmt: skip


def chunk(text, doc="guide", position=0, kind=ChunkKind.TEXT, section=("S",), title=None,
          effective=None, rows=()):  # fmt: skip
    return Chunk(
        f"{doc}:v1:{position}", info(doc, title, effective), position, kind, text, section,
        (1,), "en", "h", rows,
    )  # fmt: skip


# ---------------------------------------------------------------- agent phrasing


def test_agent_wrappers_and_typed_numbers_are_not_searched():
    assert search_text("Customer wants to know the CHAPS fee") == "the CHAPS fee"
    assert search_text("Customer wants to know the CHAPS fee, ph 07700 900123") == "the CHAPS fee"
    assert search_text("cust says her card ending 4821 was stolen abroad") == (
        "her card was stolen abroad"
    )
    assert search_text("客户想知道信用卡在国外被盗了怎么办") == "信用卡在国外被盗了怎么办"
    rambling = (
        "hi so I have a customer on the line, she is asking how much cash we can send, thanks"
    )
    assert search_text(rambling) == "how much cash we can send"
    # The contracted and the spoken forms of "I have got a customer", and a call's caller:
    for opener in ("I've got a customer on the line,", "i ve got a caller", "I have got a cx"):
        assert search_text(f"hi so {opener} what is the CHAPS fee") == "what is the CHAPS fee"
    assert search_text("来电客户问 个人客户每天最多能转账多少钱") == "个人客户每天最多能转账多少钱"
    # A date of birth and an ID number's label are customer data, not content.
    assert search_text("what is the CHAPS fee? dob 14/03/1985") == "what is the CHAPS fee?"
    assert search_text("客户想知道 身份证尾号0318 那日元呢") == "那日元呢"
    assert search_text("身份证号码110101199003071234 能开户吗") == "能开户吗"


def test_amounts_times_and_plain_questions_are_kept():
    assert search_text("What is the CHAPS fee") == "What is the CHAPS fee"
    assert search_text("can they send £500 by 15:30 in 3 days?") == (
        "can they send £500 by 15:30 in 3 days?"
    )
    assert search_text("thanks") == "thanks"  # nothing but filler: searched as typed


# ---------------------------------------------------------------- the call as context


def test_a_question_with_no_call_is_searched_alone():
    plan = plan_search("What is the CHAPS fee?", ())
    assert plan.context is None and plan.context_weight == 0


def test_the_call_keeps_the_opening_situation_and_weights_follow_ups_more():
    history = (
        Turn("user", "I'm in Spain and my debit card was stolen"),
        Turn("assistant", "I have cancelled the card."),
        Turn("user", "how long does the new card take?"),
    )
    follow_up = plan_search("and the fee?", history)
    standalone = plan_search("What is the cut-off time for a CHAPS payment?", history)
    assert "Spain" in follow_up.context and "cancelled" in follow_up.context
    assert follow_up.context.startswith("and the fee?")
    assert follow_up.context_weight > standalone.context_weight > 0
    assert standalone.question == "What is the cut-off time for a CHAPS payment?"
    # The question as asked is kept only when the call's turns were brought into it (the
    # headline then also reads it against section headings); a standalone one has none.
    assert follow_up.follow_up == "and the fee?" and follow_up.question != "and the fee?"
    assert standalone.follow_up == ""
    assert plan_search("and the fee?", ()).follow_up == ""


def test_context_is_bounded_but_keeps_the_opening():
    history = (
        Turn("user", "my card was stolen in Spain"),
        *(Turn("assistant", "x" * 300) for _ in range(5)),
    )
    plan = plan_search("and now?", history)
    assert len(plan.context) < 700 and plan.context.endswith("my card was stolen in Spain")


# ---------------------------------------------------------------- the authoritative procedure

STEPS = "1. Cancel the card.\n2. Offer an emergency card."


def test_references_need_a_referring_verb_and_a_known_title():
    titles = {"lost": "Lost or Stolen Card Reporting Procedure", "pin": "Card PIN FAQ"}
    text = "The agent cancels the card following the Lost or Stolen Card Reporting Procedure."
    assert referenced_documents(text, titles) == ["lost"]
    assert (
        referenced_documents("The Lost or Stolen Card Reporting Procedure was updated.", titles)
        == []
    )
    assert referenced_documents("If the PIN is blocked, see Card PIN FAQ.", titles) == ["pin"]
    assert referenced_documents("If blocked, see Card PIN FAQ.", titles, strong_only=True) == []


def test_a_referenced_procedure_wins_at_the_section_that_fits_the_situation():
    guide = chunk(
        "Problems abroad\n1. Cancel the card following the Lost Card Procedure.",
        doc="travel", kind=ChunkKind.PROCEDURE, section=("Travel", "Card lost abroad"),
    )  # fmt: skip
    phone = chunk(STEPS, doc="lost", position=1, kind=ChunkKind.PROCEDURE,
                  section=("Cards", "Reporting by phone"), title="Lost Card Procedure")  # fmt: skip
    abroad = chunk(STEPS, doc="lost", position=2, kind=ChunkKind.PROCEDURE,
                   section=("Cards", "Reporting from abroad"), title="Lost Card Procedure")  # fmt: skip
    sections = {"travel": [(guide,)], "lost": procedure_sections([abroad, phone])}
    titles = {"travel": "Travel Guide", "lost": "Lost Card Procedure"}
    hits = [Hit(guide, 0.03)]
    options = gather_options(hits, lambda d: sections[d], titles, tokenize("lost card abroad"))
    chosen = choose_procedure(options, tokenize("customer lost their card abroad"))
    assert chosen is not None and chosen.parts == (abroad,) and chosen.referred_by == guide
    by_phone = choose_procedure(options, tokenize("lost card, customer is calling by phone"))
    assert by_phone is not None and by_phone.parts == (phone,)
    # A reference whose title has nothing to do with the situation is a side branch.
    unrelated = gather_options(hits, lambda d: sections[d], titles, tokenize("travel insurance"))
    assert all(o.referred_by is None for o in unrelated)


def test_a_less_similar_option_loses_unless_its_evidence_is_much_stronger():
    a = chunk(STEPS, doc="a", kind=ChunkKind.PROCEDURE, section=("A",))
    b = chunk(STEPS, doc="b", kind=ChunkKind.PROCEDURE, section=("B",))
    close = [
        ProcedureOption((a,), 0.9, similarity=0.87),
        ProcedureOption((b,), 0.8, similarity=0.89),
    ]
    assert choose_procedure(close, []).parts == (b,)
    assert choose_procedure([], []) is None


def test_steps_come_from_the_referenced_procedure_and_say_who_sent_the_agent():
    guide = chunk("Abroad\n1. Cancel the card following the Lost Card Procedure.", doc="travel",
                  kind=ChunkKind.PROCEDURE, title="Travel Guide")  # fmt: skip
    lost = chunk("Reporting\n" + STEPS, doc="lost", kind=ChunkKind.PROCEDURE,
                 section=("Reporting",), title="Lost Card Procedure")  # fmt: skip
    options = [ProcedureOption((guide,), 1.0), ProcedureOption((lost,), 1.2, referred_by=guide)]
    answer = build_answer("lost card abroad", "lost card abroad", [Hit(guide, 0.03)],
                          confidence_value=0.9, threshold=0.3, procedure_options=options)  # fmt: skip
    assert [s.text for s in answer.steps] == ["Cancel the card.", "Offer an emergency card."]
    assert answer.steps[0].citation.document_id == "lost"
    assert any(getattr(n, "kind", "") == "referred" and "Travel Guide" in n for n in answer.notices)


def test_a_referral_shows_its_steps_unless_the_question_asks_for_a_value():
    faq = chunk("Cards\nIf the card is lost, cancel it following the Lost Card Procedure. "
                "Express delivery of a replacement card costs £15.", doc="faq", title="Card FAQ")  # fmt: skip
    lost = chunk("Reporting\n" + STEPS, doc="lost", kind=ChunkKind.PROCEDURE,
                 section=("Reporting",), title="Lost Card Procedure")  # fmt: skip
    options = [ProcedureOption((lost,), 1.2, referred_by=faq)]

    def ask(question: str):  # type: ignore[no-untyped-def]
        return build_answer(question, question, [Hit(faq, 0.03)], confidence_value=0.9,
                            threshold=0.3, procedure_options=options)  # fmt: skip

    assert ask("customer lost their card").steps
    assert not ask("replacement card delivery cost").steps
    assert ask("how do I report a lost card, and what does a replacement cost").steps


# ---------------------------------------------------------------- facts, conflicts, changes

HEADER = ("Service", "Fee until 31 December 2026", "Fee from 1 January 2027", "Notes")
ROW = ("CHAPS payment (all channels)", "£25", "£30", "Cut-off times do not change")


def test_dated_columns_count_only_on_the_dates_they_cover():
    assert column_in_force(HEADER[1], dt.date(2026, 12, 1))
    assert not column_in_force(HEADER[1], dt.date(2027, 2, 1))
    assert column_in_force(HEADER[2], dt.date(2027, 2, 1))
    assert not column_in_force(HEADER[2], dt.date(2026, 12, 1))
    assert column_in_force("Notes", dt.date(2027, 2, 1))
    assert render_row(HEADER, ROW).startswith("CHAPS payment (all channels) — Fee until")


def test_one_sentence_with_two_products_is_two_facts_not_a_conflict():
    text = "Limits\nThe daily debit card limit is £500; the daily credit card limit is £300."
    facts = chunk_facts(chunk(text, doc="a"))
    assert len(facts) == 2 and not same_thing(*facts)
    fee = chunk_facts(chunk("Fees\nThe paper statement fee is £1.50.", doc="b"))[0]
    assert not same_thing(facts[0], fee)  # a limit never disagrees with a fee


def test_same_thing_in_two_documents_is_a_conflict_and_a_change_notice_is_a_change():
    guide = chunk("Limits\nThe daily online transfer limit for personal accounts is £25,000.",
                  doc="guide", effective=dt.date(2026, 6, 1))  # fmt: skip
    policy = chunk("Limits\nPersonal accounts: daily online transfer limit £20,000.",
                   doc="policy", effective=dt.date(2026, 5, 1))  # fmt: skip
    review = review_facts([Hit(guide, 0.03), Hit(policy, 0.02)],
                          tokenize("daily online transfer limit personal"))  # fmt: skip
    assert len(review.conflicts) == 1 and not review.changes
    schedule = chunk("Fees\n", doc="schedule", kind=ChunkKind.TABLE, effective=dt.date(2025, 4, 1),
                     rows=(("Service", "Fee"), ("CHAPS payment", "£25")))  # fmt: skip
    notice = chunk("Changes\n", doc="changes", kind=ChunkKind.TABLE, title="Fee Changes 2027",
                   effective=dt.date(2027, 1, 1), rows=(HEADER, ROW))  # fmt: skip
    hits = [Hit(schedule, 0.03), Hit(notice, 0.02)]
    later = review_facts(hits, tokenize("CHAPS fee"), dt.date(2027, 2, 1))
    assert not later.conflicts and len(later.changes) == 1
    assert (later.changes[0].old.amount, later.changes[0].new.amount) == ("£25", "£30")
    answer = build_answer("CHAPS fee", "CHAPS fee", hits, confidence_value=0.9, threshold=0.3,
                          as_of=dt.date(2027, 2, 1))  # fmt: skip
    assert "£30" in answer.sentences[0][0].text and "£25" not in answer.sentences[0][0].text
    assert any(getattr(n, "kind", "") == "changed" for n in answer.notices)


def test_headlines_read_table_rows_with_their_header_and_skip_revision_history():
    table = chunk("Fees\n", doc="fees", kind=ChunkKind.TABLE,
                  rows=(("Service", "Fee", "Notes"), ("Express delivery", "£15", "Next day")))  # fmt: skip
    history = chunk("Revision history\nExpress delivery fee changed to £15 in 2025.",
                    doc="fees", position=2, section=("Revision history",))  # fmt: skip
    sentences = best_sentences([Hit(history, 0.03), Hit(table, 0.02)], tokenize("express fee"))
    assert [s for s, _ in sentences] == ["Express delivery — Fee: £15; Notes: Next day"]


def test_a_headline_is_not_matched_on_what_the_agent_wants_to_do():
    filler = chunk("Sanctions\nSanctions block: do not give details; say the card is blocked.",
                   doc="sanctions")  # fmt: skip
    useful = chunk("Freeze\nThe customer can freeze the card in the app.", doc="app", position=1)
    sentences = best_sentences([Hit(filler, 0.03), Hit(useful, 0.02)],
                               tokenize("what do I say about a card freeze"))  # fmt: skip
    assert [s for s, _ in sentences] == ["The customer can freeze the card in the app."]


# ---------------------------------------------------------------- typos


def test_typos_are_corrected_against_the_knowledge_base_words_only():
    from kb.spelling import SpellFix

    fix = SpellFix({"delivery": 9, "emergency": 5, "replacement": 4, "express": 7, "card": 30})
    assert fix.correct("express delivry of a replacment card") == (
        "express delivery of a replacement card"
    )
    assert fix.correct("emeregncy cash") == "emergency cash"  # two letters swapped
    assert fix.correct("sourdough bread") == "sourdough bread"  # nothing one edit away
    assert fix.correct("crad") == "crad"  # short words are left alone
    assert SpellFix({"read": 9}).correct("bread") == "bread"
    assert SpellFix({"scam": 9, "scammer": 3}).correct("scammed") == "scammed"
    assert SpellFix({"delivery": 1}).correct("delivry") == "delivry"  # too rare to trust
    # A word the base holds once is still a word: "Unblock PIN" is not "unlock".
    assert SpellFix({"unlock": 9, "unblock": 1}).correct("unblock their PIN") == "unblock their PIN"


def test_a_value_announced_for_a_later_day_is_not_yet_a_change():
    bulletin = chunk(
        "Bulletin\nSome fees change on 1 January 2027, including CHAPS (£25 to £30).",
        doc="bulletin", title="Fee changes bulletin", effective=dt.date(2026, 11, 23),
    )  # fmt: skip
    schedule = chunk("Fees\n", doc="schedule", kind=ChunkKind.TABLE, effective=dt.date(2025, 4, 1),
                     rows=(("Service", "Fee"), ("CHAPS payment", "£25")))  # fmt: skip
    hits = [Hit(schedule, 0.03), Hit(bulletin, 0.02)]
    assert not review_facts(hits, tokenize("CHAPS fee"), dt.date(2026, 12, 1)).changes


# ---------------------------------------------------------------- amounts typed and compared


def test_an_amount_is_one_token_so_the_customer_s_sum_matches_no_other_amount():
    assert tokenize("send £23,000 today") == ["send", "23000", "today"]
    assert "000" not in tokenize("Personal accounts: £2,000; Business accounts: £25,000")
    highlighted = highlight("Limits: £25,000; cheque £2,000; 125,000", tokenize("£25,000 limit"))
    marked = [highlighted.text[a:b] for a, b in highlighted.highlights]
    assert marked == ["Limits", "25,000"]  # not the 25,000 inside 125,000, not £2,000


def test_a_document_s_row_for_another_product_is_no_second_opinion():
    fees = chunk("Fees\n", doc="fees", kind=ChunkKind.TABLE, rows=(
        ("Account", "Monthly fee"), ("Everyday Account", "£0"), ("Everyday Plus Account", "£12"),
    ))  # fmt: skip
    kyc = chunk("Eligibility\nThe Everyday Plus Account has a £12 monthly fee.", doc="kyc")
    overdraft = chunk("Overdrafts\nUnpaid item fee for Everyday and Everyday Plus: £0.", doc="od")
    hits = [Hit(kyc, 0.03), Hit(fees, 0.02), Hit(overdraft, 0.01)]
    assert not review_facts(hits, tokenize("monthly fee on the Everyday Plus Account")).conflicts


def test_a_conflict_found_by_checking_the_quoted_amount_shows_its_witness():
    guide = chunk("Limits\nThe daily online transfer limit for personal accounts is £25,000.",
                  doc="guide", effective=dt.date(2026, 6, 1))  # fmt: skip
    cheques = chunk("Cheques\nPaying in cheques with the app: £5,000 a day.", doc="cheques")
    policy = chunk("Limits\n", doc="policy", kind=ChunkKind.TABLE, effective=dt.date(2026, 5, 1),
                   rows=(("Channel", "Personal accounts"),
                         ("Online and mobile banking (daily limit)", "£20,000")))  # fmt: skip
    question = "Can a personal customer send £23,000 online in a single day?"
    tokens = tokenize(question)
    hits = [Hit(guide, 0.03), Hit(cheques, 0.02)]
    assert claim_to_check(hits, tokens) == guide.text.splitlines()[1]
    assert not review_facts(hits, tokens).conflicts  # the policy is not among the hits
    answer = build_answer(question, question, hits, confidence_value=0.9, threshold=0.3,
                          cross_check=[Hit(policy, 0.5), Hit(guide, 0.4)])  # fmt: skip
    assert [getattr(n, "kind", "") for n in answer.notices].count("conflict") == 1
    assert [p.citation.document_id for p in answer.passages] == ["guide", "cheques", "policy"]
    # Both sides are quoted at the top, each with its own citation, the witness's right
    # after the answer's own: the agent reads £25,000 and £20,000 without opening a passage.
    quoted = [(h.text, c.document_id) for h, c in answer.sentences]
    assert quoted[0] == (guide.text.splitlines()[1], "guide")
    assert quoted[1][1] == "policy" and "£20,000" in quoted[1][0]
    quiet = build_answer(question, question, hits, confidence_value=0.9, threshold=0.3,
                         cross_check=[Hit(cheques, 0.5)])  # fmt: skip
    assert len(quiet.passages) == 2 and not any(
        getattr(n, "kind", "") == "conflict" for n in quiet.notices
    )


def test_on_a_near_tie_the_section_holding_the_questions_words_wins():
    """Two sections of one procedure, equal evidence, similarities 0.0004 apart (what two
    e5 runtimes disagree on): the one that says "log the request" answers "how do I log
    a subject access request", whichever way the similarity leans."""
    receiving = chunk("1. Verify the customer.\n2. Log the request in the tracker.",
                      doc="sar", kind=ChunkKind.PROCEDURE, section=("SAR", "Receiving a SAR"))  # fmt: skip
    office = chunk("1. Acknowledges the request.\n2. Sends the response.", doc="sar",
                   position=2, kind=ChunkKind.PROCEDURE, section=("SAR", "What the office does"))  # fmt: skip
    asked = tokenize("how do I log a subject access request")
    for lean in (0.0004, -0.0004):
        options = [
            ProcedureOption((office,), 0.79, similarity=0.8280 + lean),
            ProcedureOption((receiving,), 0.79, similarity=0.8280),
        ]
        chosen = choose_procedure(options, asked)
        assert chosen is not None and chosen.parts == (receiving,)
    # Beyond a near tie the similarity still decides.
    options = [
        ProcedureOption((office,), 0.79, similarity=0.85),
        ProcedureOption((receiving,), 0.79, similarity=0.83),
    ]
    assert choose_procedure(options, asked).parts == (office,)


# ---------------------------------------------------------------- headlines from the answering passage


def test_a_sentence_that_introduces_a_list_brings_its_items():
    sheet = chunk("Minimum payment\nThe minimum payment each month is the higher of:\n• £25; or\n"
                  "• 1% of the balance, plus interest.\nPay by Direct Debit to avoid late fees.",
                  doc="credit", section=("Minimum payment",))  # fmt: skip
    sentences = best_sentences(
        [Hit(sheet, 0.03)], tokenize("how is the minimum payment worked out")
    )
    assert sentences[0][0] == (
        "The minimum payment each month is the higher of: • £25; or "
        "• 1% of the balance, plus interest."
    )


def test_more_of_the_answering_passage_joins_the_headline_than_of_other_passages():
    answering = chunk("Foreign cheques\nForeign cheques cannot be paid in with the app.\n"
                      "Collection of a foreign cheque usually takes 4 to 8 weeks.\nThe fee is £15.",
                      doc="cheques", section=("Foreign cheques",))  # fmt: skip
    other = chunk("Limits\nA cheque of up to £2,000 can be paid in with the app each day.",
                  doc="limits", position=1, section=("Limits",))  # fmt: skip
    sentences = best_sentences(
        [Hit(answering, 0.03), Hit(other, 0.02)],
        tokenize("can I pay in a foreign cheque in the app"),
    )
    texts = [s for s, _ in sentences]
    # The same passage's sentence with fewer of the question's words joins (at 0.3 of the best
    # one's score); the other passage's, as near to it, does not (0.6).
    assert "Collection of a foreign cheque usually takes 4 to 8 weeks." in texts
    assert all(c.document.document_id == "cheques" for _, c in sentences)


def test_a_passage_in_the_other_language_is_read_with_the_glossary():
    english = Chunk("overdraft:v1:0", info("overdraft"), 0, ChunkKind.TEXT,
                    "Overdrafts\nThe arranged overdraft interest rate is 39.9% EAR variable.",
                    ("Overdrafts",), (1,), "en", "h")  # fmt: skip
    question = "安排透支的利率是多少？"
    sentences = best_sentences([Hit(english, 0.03)], tokenize(question), question=question)
    assert [s for s, _ in sentences] == [
        "The arranged overdraft interest rate is 39.9% EAR variable."
    ]
    # Without the glossary's equivalents no English word matches: nothing to quote.
    assert best_sentences([Hit(english, 0.03)], tokenize(question)) == []


def test_label_lines_and_the_document_control_line_are_never_headlines():
    guide = chunk("Guide\nFreeze\nDocument owner: Cards | Version: 2.1 | Effective date: 2026-01-01\n"
                  "The customer can freeze the card in the app.", doc="app", section=("Guide",))  # fmt: skip
    sentences = best_sentences([Hit(guide, 0.03)], tokenize("card freeze cards version"))
    assert [s for s, _ in sentences] == ["The customer can freeze the card in the app."]


def test_a_follow_up_is_answered_by_the_section_its_heading_names(monkeypatch):
    """After a payment-holiday question, "does it go on their credit file?": the sentence
    of "Credit file reporting" answers it without repeating "credit file", and beats the
    options table, ranked first on the call's words."""
    options = chunk(
        "Payment deferral (payment holiday): no payments, or reduced payments, for a short "
        "period of up to 3 months while interest keeps building up.",
        doc="mortgage", section=("Mortgages", "Support options"),
    )  # fmt: skip
    reporting = chunk(
        "Payment deferrals are not reported as arrears.", doc="mortgage", position=1,
        section=("Mortgages", "Credit file reporting"),
    )  # fmt: skip
    call = "How long can a mortgage payment holiday be? does it go on their credit file?"
    hits = [Hit(options, 0.065), Hit(reporting, 0.0645)]
    asked = "does it go on their credit file?"
    answer = "Payment deferrals are not reported as arrears."
    chosen = best_sentences(hits, tokenize(call), question=call, asked=asked)
    assert answer in [sentence for sentence, _ in chosen]
    # Without the question just asked, the call's words pick the table alone (the glossary's
    # "payment deferral" for "payment holiday" would also find the sentence: set aside here).
    monkeypatch.setattr("kb.answer.SAME_LANGUAGE_SYNONYMS", False)
    chosen = best_sentences(hits, tokenize(call), question=call)
    assert answer not in [sentence for sentence, _ in chosen]


def test_only_a_question_resolved_with_the_call_is_a_follow_up():
    from kb.conversation import plan_search
    from kb.types import Turn

    call = [
        Turn("user", "How long can a mortgage payment holiday be?"),
        Turn("assistant", "Up to 3 months."),
    ]
    asked = "does it go on their credit file?"
    assert plan_search(asked, call).follow_up == asked
    # Agent wrappers stripped, or a self-contained question in a call: not a follow-up.
    assert plan_search("Customer wants to know the CHAPS fee", []).follow_up == ""
    assert plan_search("What is the CHAPS fee?", call).follow_up == ""
    # A typo the base's words correct later (Services.plan) does not make one either.
    assert plan_search("What is the CHAPS fee? (cust says minimm)", call).follow_up == ""


def test_how_questions_ask_for_steps_in_english_and_both_chinese_scripts():
    from kb.answer import asks_for_steps

    for question in (
        "How does a customer change the name on their account?",
        "how can a customer unblock their PIN",
        "What's the process to register a power of attorney?",
        "接獲客戶身故通知後，同事要按甚麼步驟處理？",
        "客户的卡丢了怎么办",
        "網上銀行鎖咗點樣處理",
    ):
        assert asks_for_steps(question), question
    for question in (
        "What is the CHAPS fee?",
        "信用卡年费是多少？",
        "When are renewal cards sent?",
    ):
        assert not asks_for_steps(question), question


def test_the_top_documents_unranked_procedure_counts_as_much_as_another_documents():
    """The best passage is the account-opening guide's scope; its branch procedure did not
    rank, the joint-account guide's did (fourth). The top document's own procedure, whose
    heading names the situation, must not count for less than the other document's."""
    scope = chunk("Scope\nThis guide covers personal accounts.", doc="kyc", section=("Scope",))
    branch = chunk(STEPS, doc="kyc", position=3, kind=ChunkKind.PROCEDURE,
                   section=("Account opening", "Procedure: opening in branch"))  # fmt: skip
    online = chunk(STEPS, doc="kyc", position=4, kind=ChunkKind.PROCEDURE,
                   section=("Account opening", "Procedure: opening online"))  # fmt: skip
    joint = chunk(STEPS, doc="joint", kind=ChunkKind.PROCEDURE,
                  section=("Joint accounts", "Opening a joint account"))  # fmt: skip
    sections = {"kyc": [(branch,), (online,)], "joint": [(joint,)]}
    hits = [Hit(scope, 0.031), Hit(joint, 0.0295)]
    question = tokenize("steps for opening a personal account in branch")
    options = gather_options(hits, lambda d: sections[d], {}, question)
    chosen = choose_procedure(options, question)
    assert chosen is not None and chosen.parts == (branch,)


def test_a_generic_heading_is_read_with_its_documents_title():
    """Two sections both headed "操作步骤": the one whose document the situation names wins."""
    lost = chunk(STEPS, doc="lost", kind=ChunkKind.PROCEDURE, section=("银行卡服务", "四、操作步骤"),
                 title="银行卡挂失与补卡规程")  # fmt: skip
    fraud = chunk(STEPS, doc="fraud", kind=ChunkKind.PROCEDURE,
                  section=("欺诈与诈骗防范", "五、操作步骤"), title="欺诈与诈骗防范规程")  # fmt: skip
    situation = tokenize("怀疑客户正在遭遇电信诈骗时，坐席应该怎么处理？")
    options = [ProcedureOption((lost,), 0.8), ProcedureOption((fraud,), 0.8)]
    chosen = choose_procedure(options, situation)
    assert chosen is not None and chosen.parts == (fraud,)


def test_a_heading_word_is_named_by_a_word_of_the_same_root():
    """ "register" names "Procedure: registration" (the stemmer keeps them apart)."""
    documents = chunk(STEPS, doc="poa", kind=ChunkKind.PROCEDURE,
                      section=("Third-party access", "Documents the attorney must provide"))  # fmt: skip
    registration = chunk(STEPS, doc="poa", position=1, kind=ChunkKind.PROCEDURE,
                         section=("Third-party access", "Procedure: registration"))  # fmt: skip
    situation = tokenize("What's the process to register a power of attorney?")
    options = [ProcedureOption((documents,), 1.0), ProcedureOption((registration,), 1.0)]
    chosen = choose_procedure(options, situation)
    assert chosen is not None and chosen.parts == (registration,)


def test_a_referring_passage_keeps_its_steps_when_the_agent_names_its_document():
    alert = chunk("1. Tell the caller we never call from the fraud line.\n2. Follow the Fraud "
                  "Escalation Procedure.", doc="alert", kind=ChunkKind.PROCEDURE,
                  section=("Fraud alert", "What you must do"), title="Fraud alert: spoofed fraud line calls")  # fmt: skip
    escalation = chunk(STEPS, doc="fraud", kind=ChunkKind.PROCEDURE,
                       section=("Fraud", "Procedure: customer reports a scam"),
                       title="Fraud Escalation Procedure")  # fmt: skip
    sections = {"alert": [(alert,)], "fraud": [(escalation,)]}
    titles = {
        "alert": "Fraud alert: spoofed fraud line calls",
        "fraud": "Fraud Escalation Procedure",
    }
    hits = [Hit(alert, 0.03)]
    named = tokenize("What do agents have to do under the spoofed fraud line alert?")
    options = gather_options(hits, lambda d: sections[d], titles, named)
    assert any(o.referred_by == alert for o in options)
    chosen = choose_procedure(options, named)
    assert chosen is not None and chosen.parts == (alert,)
    # Not named: the alert hands over to the procedure it refers to.
    other = tokenize("a caller says our fraud team rang them, what now")
    chosen = choose_procedure(gather_options(hits, lambda d: sections[d], titles, other), other)
    assert chosen is not None and chosen.parts == (escalation,)


def test_a_headline_reads_the_glossary_synonyms_the_search_read():
    # "charged twice" is the glossary's "duplicate transaction": the search found the
    # table by it, and the headline now quotes its row, not the sentence sharing "thing".
    table = chunk("Time limits\n| Reason | Time limit |", doc="disputes", kind=ChunkKind.TABLE,
                  rows=(("Reason", "Time limit to raise", "Measured from"),
                        ("Duplicate or incorrect amount", "120 days", "Transaction date"),
                        ("Goods not received", "120 days", "Expected delivery date")))  # fmt: skip
    other = chunk("Complaints\nPut things right, for example refund a fee.", doc="complaints",
                  position=1)  # fmt: skip
    question = "I've been charged twice for the same thing in a shop, how long have I got?"
    sentences = best_sentences([Hit(table, 0.03), Hit(other, 0.02)], tokenize(question),
                               question=question)  # fmt: skip
    assert sentences[0][0].startswith("Duplicate or incorrect amount — Time limit to raise: 120")


def test_a_synonym_never_counts_a_word_the_question_already_matched():
    # "minimum payment" is also "minimum amount due": a sentence that says "amount" and
    # "due" gains nothing over the one that says "minimum payment" itself.
    sheet = chunk("Minimum payment\nThe minimum payment each month is the higher of £25 or 1%.\n"
                  "A minimum, fixed amount or full balance is collected on the due date.",
                  doc="credit", section=("Minimum payment",))  # fmt: skip
    question = "How is the credit card minimum payment worked out?"
    sentences = best_sentences([Hit(sheet, 0.03)], tokenize(question), limit=1, question=question)
    assert sentences[0][0].startswith("The minimum payment each month")


def test_a_named_day_is_read_as_its_date():
    # The bulletin's table says "24 December 2026", the agent says "Christmas Eve".
    table = chunk("Opening hours\n| Date | Day | Hours |", doc="bulletin", kind=ChunkKind.TABLE,
                  rows=(("Date", "Day", "Hours"),
                        ("24 December 2026", "Thursday", "08:00-16:00"),
                        ("25 December 2026", "Friday (Christmas Day)", "Closed"),
                        ("1 January 2027", "Friday (New Year's Day)", "Closed")))  # fmt: skip
    for question in ("What are the opening hours on Christmas Eve?", "平安夜客服热线几点下班？"):
        sentences = best_sentences([Hit(table, 0.03)], tokenize(question), limit=1,
                                   question=question)  # fmt: skip
        assert sentences[0][0] == "24 December 2026 — Day: Thursday; Hours: 08:00-16:00", question


def test_the_sentence_that_qualifies_the_answer_joins_it():
    limits = chunk("Time limits\nA chargeback must be raised within 120 calendar days of the "
                   "transaction date. For goods that were to be delivered later, the 120 days run "
                   "from the delivery date, but never more than 540 days after the transaction. "
                   "Keep the receipt.", doc="disputes", section=("Time limits",))  # fmt: skip
    question = "What is the time limit for raising a chargeback?"
    sentences = [s for s, _ in best_sentences([Hit(limits, 0.03)], tokenize(question),
                                              question=question)]  # fmt: skip
    assert sentences[0].startswith("A chargeback must be raised within 120")
    assert sentences[1].endswith("never more than 540 days after the transaction.")
    assert len(sentences) == 2  # "Keep the receipt." holds no duration
