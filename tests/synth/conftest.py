"""Session fixtures: tiny generated ToolQA roots for two seeds (corpus + 2 questions per template)."""

from __future__ import annotations

import time

import pytest

SEEDS = (0, 1)
PER_TEMPLATE = 2


@pytest.fixture(scope="session")
def synth_roots(tmp_path_factory):
    from seer_env.envs.toolqa.synth_corpus import generate_corpus
    from seer_env.envs.toolqa.synth_questions import generate_questions, write_questions

    roots = {}
    for seed in SEEDS:
        root = tmp_path_factory.mktemp(f"synth-tiny-{seed}")
        t0 = time.perf_counter()
        generate_corpus(root, scale="tiny", seed=seed)
        for diff in ("easy", "hard"):
            write_questions(root, generate_questions(root, diff, per_template=PER_TEMPLATE, seed=seed))
        print(f"tiny seed {seed}: corpus + questions in {time.perf_counter() - t0:.1f} s")
        roots[seed] = root
    return roots
