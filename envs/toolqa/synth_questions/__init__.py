"""Questions for a (generated) ToolQA corpus: every official template, with gold answers and gold chains.

`generate_questions(corpus_dir, difficulty, per_template=None, seed=0)` instantiates the 55 easy and 62 hard
templates (gsm8k has none: its questions are word problems with no corpus) in the official wording. Each
template is declared next to its handler in its domain's module (flights, coffee, yelp, airbnb, dblp,
scirex, agenda), whose docstring lists where its gold follows the wording rather than the official
generator. Answers are computed from the corpus as the tools load it (`corpus.py`: every cell is the
string pandas 1.x `astype(str)` gives, FilterDB compares strings), and each question records a gold tool
chain: the tool calls that lead to the answer through the env's tools. Where the answer needs arithmetic
the chain ends with a PythonInterpreter call over the values earlier calls printed, so its observation is
the answer itself. Chains use at most 19 calls, so the oracle finishes within the env's 20 steps.

Chains use the reference tools only: LoadDB/FilterDB/GetValue (conditions never carry ", "),
SQLInterpreter where the yelp `categories` cell (which contains ", ") must be matched, PythonInterpreter
for arithmetic over values copied from earlier observations, the graph tools, and the retrievers.
Questions the official generator would make unanswerable by its own tool chain are drawn again.
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path
from typing import Any

from seer_env.envs.toolqa.questions import DIFFICULTIES, DOMAINS

# importing a domain's module registers its templates
from seer_env.envs.toolqa.synth_questions import agenda, airbnb, coffee, dblp, flights, scirex, yelp  # noqa: F401
from seer_env.envs.toolqa.synth_questions.common import (
    MAX_CHAIN,
    Sampler,
    Skip,
    Template,
    registered_templates,
)
from seer_env.types import ToolCall

log = logging.getLogger(__name__)

TEMPLATES: list[Template] = registered_templates()
QUESTION_DOMAINS = tuple(d for d in DOMAINS if any(t.domain == d for t in TEMPLATES))

__all__ = [
    "MAX_CHAIN",
    "QUESTION_DOMAINS",
    "TEMPLATES",
    "Template",
    "generate_questions",
    "templates",
    "write_questions",
]


def templates(difficulty: str | None = None, domain: str | None = None) -> list[Template]:
    return [
        t
        for t in TEMPLATES
        if (difficulty is None or t.difficulty == difficulty) and (domain is None or t.domain == domain)
    ]


def _instantiate(tmpl: Template, sampler: Sampler, n: int) -> list[tuple[str, Any, list[ToolCall]]]:
    """Up to `n` distinct questions of one template (draws that fail or repeat are drawn again)."""
    out, seen = [], set()
    attempts = 0
    while len(out) < n and attempts < 60 * n + 200:
        attempts += 1
        try:
            q, a, chain = tmpl.draw(sampler)
        except Skip:
            continue
        if q in seen or len(chain) > MAX_CHAIN:
            continue
        seen.add(q)
        out.append((q, a, chain))
    if len(out) < n:
        log.warning("template %s: only %d of %d questions could be made", tmpl.tid, len(out), n)
    return out


def generate_questions(
    corpus_dir: str | os.PathLike,
    difficulty: str,
    per_template: int | None = None,
    seed: int = 0,
    domains: list[str] | tuple[str, ...] | None = None,
):
    """Questions (`seer_env.envs.toolqa.Question`, with `gold_chain` and `template`) for a corpus.

    `corpus_dir` is the ToolQA root (holding `data/external_corpus` and `data/raw_data`).
    `per_template=None` makes the official number of questions per template (100 per domain, coffee hard
    130); an int makes that many per template. Same corpus + seed give the same questions.
    """
    from seer_env.envs.toolqa.questions import Question

    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}")
    root = Path(corpus_dir)
    if not (root / "data" / "external_corpus").is_dir() and (root / "external_corpus").is_dir():
        root = root.parent
    out: list[Question] = []
    for domain in QUESTION_DOMAINS:
        if domains is not None and domain not in domains:
            continue
        sampler = Sampler(root, random.Random(f"toolqa-synth-{seed}-{difficulty}-{domain}"))
        k = 0
        for tmpl in templates(difficulty, domain):
            n = tmpl.count if per_template is None else per_template
            for q, a, chain in _instantiate(tmpl, sampler, n):
                out.append(
                    Question(
                        qid=f"{difficulty}-{domain}-{k:04d}",
                        domain=domain,
                        difficulty=difficulty,
                        question=q,
                        answer=a,
                        gold_chain=list(chain),
                        template=tmpl.tid,
                    )
                )
                k += 1
    return out


def write_questions(out_dir: str | os.PathLike, questions) -> list[Path]:
    """Write questions as `out_dir/data/questions/{difficulty}/{domain}-{difficulty}.jsonl` (official names)."""
    by_file: dict[tuple[str, str], list] = {}
    for q in questions:
        by_file.setdefault((q.domain, q.difficulty), []).append(q)
    paths = []
    for (domain, diff), qs in sorted(by_file.items()):
        d = Path(out_dir) / "data" / "questions" / diff
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{domain}-{diff}.jsonl"
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            for q in qs:
                rec = {
                    "qid": q.qid,
                    "question": q.question,
                    "answer": q.answer,
                    "gold_chain": [c.to_dict() for c in q.gold_chain or []],
                    "template": q.template,
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        paths.append(p)
    return paths
