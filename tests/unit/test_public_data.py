"""The public-dataset converters on tiny sources written in the official layouts."""

from __future__ import annotations

import json

import pytest

from eval.datasets import load_beir
from eval.public_data import SourceTree, build_drcd, build_dstc10, write_beir
from kb.errors import KBError


def _dstc10_source(root):
    knowledge = {
        "restaurant": {
            "7": {"name": "Pizza Roma", "docs": {
                "0": {"title": "Do you deliver?", "body": "Yes, within three miles."},
                "1": {"title": "Is there parking?", "body": "Free parking behind."},
            }},
            "8": {"name": "Sushi Zen", "docs": {
                "0": {"title": "Do you deliver?", "body": "No, pick-up only."},
            }},
        },
        "hotel": {"3": {"name": "Grand Hotel", "docs": {
            "0": {"title": "Check-in time?", "body": "From 3 pm."},
        }}},
    }  # fmt: skip
    logs = [
        [{"speaker": "U", "text": "dinner at pizza roma please"},
         {"speaker": "S", "text": "pizza roma is lovely"},
         {"speaker": "U", "text": "do they deliver", "nbest": []}],
        [{"speaker": "U", "text": "dinner at pizza roma please"},
         {"speaker": "S", "text": "pizza roma is lovely"},
         {"speaker": "U", "text": "thanks that's all"}],
        [{"speaker": "U", "text": "what about sushi zen"}],
    ]  # fmt: skip
    labels = [
        {"target": True, "knowledge": [{"domain": "restaurant", "entity_id": 7, "doc_id": 0}]},
        {"target": False},
        {"target": True, "knowledge": [{"domain": "restaurant", "entity_id": 8, "doc_id": 0}]},
    ]
    data = root / "task2" / "data"
    (data / "val").mkdir(parents=True)
    (data / "knowledge.json").write_text(json.dumps(knowledge))
    (data / "val" / "logs.json").write_text(json.dumps(logs))
    (data / "val" / "labels.json").write_text(json.dumps(labels))
    return root


def test_dstc10_turns_become_queries_with_their_history(tmp_path):
    built = build_dstc10(SourceTree(_dstc10_source(tmp_path / "src")))
    assert [q.id for q in built.queries] == ["dstc10-val-0000", "dstc10-val-0002"]
    first, second = built.queries
    assert first.text == "do they deliver" and first.gold == ("restaurant-7-0",)
    assert [(t.role, t.text) for t in first.history] == [
        ("user", "dinner at pizza roma please"),
        ("assistant", "pizza roma is lovely"),
    ]
    assert first.kind == "entity_in_history" and second.kind == "entity_in_turn"
    assert second.history == () and first.dialogue != second.dialogue
    # Every snippet of the entities asked about, named after the entity; not the hotel's.
    assert {d.id for d in built.corpus} == {"restaurant-7-0", "restaurant-7-1", "restaurant-8-0"}
    assert {d.title for d in built.corpus} >= {"Pizza Roma: Do you deliver?"}

    out = write_beir(built, tmp_path / "out")
    loaded = load_beir(out)
    assert len(loaded.uploads) == 3 and loaded.qrels["dstc10-val-0000"] == {"restaurant-7-0": 1}
    assert loaded.queries[0].history[1].role == "assistant"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["licence"] == "Apache-2.0" and manifest["queries"] == 2


def test_dstc10_cap_keeps_every_gold_snippet(tmp_path):
    built = build_dstc10(SourceTree(_dstc10_source(tmp_path / "src")), max_docs=2)
    assert {d.id for d in built.corpus} == {"restaurant-7-0", "restaurant-8-0"}


def _drcd_source(root):
    articles = [
        {"id": str(a), "title": f"條目{a}", "paragraphs": [
            {"id": f"{a}-{p}", "context": f"第{a}篇第{p}段的內容。",
             "qas": [{"id": f"{a}-{p}-{q}", "question": f"問題{a}-{p}-{q}？", "answers": []}
                     for q in range(1, 4)]}
            for p in range(1, 4)
        ]}
        for a in range(1, 6)
    ]  # fmt: skip
    root.mkdir(parents=True)
    (root / "DRCD_test.json").write_text(json.dumps({"version": "1.3", "data": articles}))
    return root


def test_drcd_samples_whole_articles_and_spreads_questions(tmp_path):
    source = SourceTree(_drcd_source(tmp_path / "src"))
    built = build_drcd(source, paragraphs=6, questions=4, seed=1)
    assert len(built.corpus) == 6
    articles = {d.id.split("-")[0] for d in built.corpus}
    assert len(articles) == 2  # two whole articles of three paragraphs
    assert len(built.queries) == 4
    golds = [q.gold[0] for q in built.queries]
    assert len(set(golds)) == 4  # one question per paragraph before any second one
    assert all(g in {d.id for d in built.corpus} for g in golds)
    assert built == build_drcd(source, paragraphs=6, questions=4, seed=1)  # deterministic


def test_write_refuses_a_gold_document_outside_the_corpus(tmp_path):
    built = build_dstc10(SourceTree(_dstc10_source(tmp_path / "src")))
    broken = type(built)(built.name, built.corpus[:1], built.queries, built.manifest)
    with pytest.raises(KBError, match="gold documents missing"):
        write_beir(broken, tmp_path / "out")
