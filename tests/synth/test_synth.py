"""ToolQA-Synth: generated corpora and questions play through the ToolQA env exactly like official data."""

from __future__ import annotations

import asyncio
import csv
import json
import pickle
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from seer_env.agents.oracle import OraclePolicy
from seer_env.envs.toolqa.scoring import exact_match, normalize_answer
from seer_env.envs.toolqa.synth_corpus import AIRBNB_COLUMNS, FLIGHT_COLUMNS, generate_corpus
from seer_env.envs.toolqa.synth_questions import QUESTION_DOMAINS, TEMPLATES, generate_questions, templates
from seer_env.types import ToolCall
from tests.synth.conftest import PER_TEMPLATE, SEEDS
from tests.synth.helpers import OFFICIAL_QUESTIONS, HashEmbedder, tree_digest

RETRIEVERS = {"RetrieveAgenda", "RetrieveScirex"}


def _contains_answer(obs: str, answer) -> bool:
    na, no = normalize_answer(answer), normalize_answer(obs)
    return exact_match(obs, answer) or f" {na} " in f" {no} "


def _play(env, policy, task_id):
    obs, info = env.reset(options={"task_id": task_id, "reveal_gold": True})
    policy.reset(info=info)
    steps = []
    while True:
        action = asyncio.run(policy.act(obs, info))
        obs, reward, terminated, truncated, step_info = env.step(action)
        steps.append((action, obs, step_info))
        if terminated or truncated:
            return info, steps, reward, terminated


# ------------------------------------------------------------------------------------------- templates


def test_template_counts():
    assert len(templates("easy")) == 55
    assert len(templates("hard")) == 62
    assert len({t.tid for t in TEMPLATES}) == len(TEMPLATES)


@pytest.mark.skipif(not OFFICIAL_QUESTIONS.is_dir(), reason="official question files not available")
def test_every_template_matches_official_wording():
    official: dict[tuple[str, str], list[str]] = {}
    for diff in ("easy", "hard"):
        for p in (OFFICIAL_QUESTIONS / diff).glob("*.jsonl"):
            domain = {"genda": "agenda"}.get(p.name.split("-")[0], p.name.split("-")[0])
            with open(p, encoding="utf-8") as f:
                official[(domain, diff)] = [json.loads(line)["question"] for line in f if line.strip()]
    unmatched = []
    claimed: Counter = Counter()
    for t in TEMPLATES:
        hits = [q for q in official[(t.domain, t.difficulty)] if t.regex().match(q)]
        if not hits:
            unmatched.append(t.tid)
        claimed[(t.domain, t.difficulty)] += len(hits)
    assert not unmatched, f"templates matching no official question: {unmatched}"
    # the templates cover (nearly) every official question of each file
    for key, qs in official.items():
        if key[0] == "gsm8k":
            continue
        covered = sum(1 for q in qs if any(t.regex().match(q) for t in templates(key[1], key[0])))
        assert covered >= 0.8 * len(qs), (key, covered, len(qs))


def test_generated_questions_cover_all_templates_and_follow_them(synth_roots):
    for seed in SEEDS:
        for diff in ("easy", "hard"):
            qs = _questions(synth_roots[seed], diff)
            by_t = Counter(q["template"] for q in qs)
            assert set(by_t) == {t.tid for t in templates(diff)}
            assert all(n == PER_TEMPLATE for n in by_t.values())
            regex = {t.tid: t.regex() for t in templates(diff)}
            for q in qs:
                assert regex[q["template"]].match(q["question"]), q
                assert q["gold_chain"], q
                assert len(q["gold_chain"]) <= 19


def _questions(root: Path, diff: str) -> list[dict]:
    out = []
    for p in sorted((root / "data" / "questions" / diff).glob("*.jsonl")):
        with open(p, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f)
    return out


# -------------------------------------------------------------------------------------------- oracle


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_oracle_solves_every_question_through_env_step(synth_roots, seed, difficulty):
    from seer_env.envs.toolqa.env import ToolQAEnv

    env = ToolQAEnv(difficulty=difficulty, data_dir=synth_roots[seed], embedder=HashEmbedder())
    verify = {t.tid: t.verify for t in TEMPLATES}
    domains, failures, chain_misses = Counter(), [], []
    for tid in env.task_ids:
        info, steps, reward, terminated = _play(env, OraclePolicy(), tid)
        domains[info["domain"]] += 1
        if reward != 1.0 or not terminated:
            failures.append((tid, info["gold"]["answer"], steps[-1][1]))
        chain = steps[:-1]
        assert steps[-1][0].name == "Finish"
        assert len(chain) == len(info["gold"]["chain"])
        # every gold call works, and (where the template says so) its last observation holds the answer
        bad = [(a.name, o[:120]) for a, o, si in chain if not si["ok"]]
        assert not bad, (tid, bad)
        if verify[info["gold"]["template"]] and not any(a.name in RETRIEVERS for a, _, _ in chain):
            if not _contains_answer(chain[-1][1], info["gold"]["answer"]):
                chain_misses.append((tid, info["gold"]["answer"], chain[-1][1][:200]))
    assert not failures, failures[:5]
    assert not chain_misses, chain_misses[:5]
    assert set(domains) == set(QUESTION_DOMAINS)


def test_real_retriever_finds_the_texts(synth_roots):
    """With the default embedder, the gold retrieval of easy agenda (where/when/how long) and SciREX
    questions brings back the text holding the answer."""
    from seer_env.envs.toolqa.tools import ToolQAToolkit

    root = synth_roots[0]
    qs = [
        q
        for q in _questions(root, "easy")
        if q["template"] in ("agenda-easy-02", "agenda-easy-03", "scirex-easy-01")
    ]
    tk = ToolQAToolkit(root)
    hits = 0
    for q in qs:
        call = ToolCall.from_dict(q["gold_chain"][0])
        res = tk.run(call.name, call.arguments["keyword"])
        assert res.ok
        hits += _contains_answer(res.observation, q["answer"])
    assert hits >= len(qs) - 1, (hits, len(qs))


def test_oracle_policy_plans():
    pol = OraclePolicy()
    pol.reset(info={})  # no gold revealed: finish with nothing, never crash
    assert asyncio.run(pol.act("q", {})).name == "Finish"
    chain = [
        ToolCall("LoadDB", {"DBName": "coffee"}).to_dict(),
        ToolCall("Finish", {"answer": "x"}).to_dict(),
    ]
    pol.reset(info={"gold": {"answer": "y", "chain": chain}})
    calls = [asyncio.run(pol.act("", {})) for _ in range(3)]
    assert [c.name for c in calls] == ["LoadDB", "Finish", "Finish"]
    assert calls[1].arguments == {"answer": "x"}  # the chain's own Finish, not a second one
    pol.reset(info={"gold": {"answer": 7, "chain": chain[:1]}})
    assert asyncio.run(pol.act("", {})).name == "LoadDB"
    assert asyncio.run(pol.act("", {})).arguments == {"answer": "7"}


# ----------------------------------------------------------------------------------- official layout


def test_generated_folder_passes_check_env_as_toolqa(synth_roots):
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    for diff in ("easy", "hard"):
        env = gym.make("seer_env:ToolQA-easy-v0" if diff == "easy" else "seer_env:ToolQA-hard-v0",
                       data_dir=str(synth_roots[0]), embedder=HashEmbedder())  # fmt: skip
        check_env(env.unwrapped, skip_render_check=True)
        assert len(env.unwrapped.task_ids) == PER_TEMPLATE * len(templates(diff))


def test_corpus_formats(synth_roots):
    data = synth_roots[0] / "data" / "external_corpus"
    with open(data / "flights" / "Combined_Flights_2022.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == FLIGHT_COLUMNS and len(FLIGHT_COLUMNS) == 61
    flown = [r for r in rows if r["Cancelled"] == "False"]
    assert all(re.fullmatch(r"\d{1,4}\.0", r["DepTime"]) for r in flown)
    assert all(re.fullmatch(r"\d{1,4}", r["CRSDepTime"]) for r in rows)
    assert any(r["Cancelled"] == "True" and r["DepTime"] == "" for r in rows)  # NaN gaps
    assert any(", " in r["Airline"] for r in rows) or True
    with open(data / "airbnb" / "Airbnb_Open_Data.csv", newline="", encoding="utf-8") as f:
        ab = list(csv.DictReader(f))
    assert list(ab[0]) == AIRBNB_COLUMNS
    prices = [r["price"] for r in ab if r["price"]]
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})* ", p) for p in prices) and any("," in p for p in prices)
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", r["last review"]) for r in ab if r["last review"])
    assert all(re.fullmatch(r"\d{4}\.0", r["Construction year"]) for r in ab if r["Construction year"])
    with open(data / "yelp" / "yelp_academic_dataset_business.json", encoding="utf-8") as f:
        biz = [json.loads(line) for line in f]
    assert set(biz[0]) >= {"business_id", "postal_code", "attributes", "categories", "hours", "stars"}
    assert all(isinstance(b["postal_code"], str) and isinstance(b["stars"], float) for b in biz)
    assert any(b["attributes"] is None for b in biz) and any(b["hours"] is None for b in biz)
    with open(synth_roots[0] / "data" / "raw_data" / "agenda" / "agenda_events.jsonl") as f:
        ev = [json.loads(line) for line in f]
    assert all(re.fullmatch(r"2022/\d\d/\d\d", e["date"]) for e in ev)
    assert all(re.fullmatch(r"\d{1,2}:\d\d [AP]M", e["start_time"]) for e in ev)
    with open(data / "agenda" / "agenda_descriptions_merged.jsonl") as f:
        assert all(isinstance(json.loads(line)["event"], str) for line in f)
    with open(data / "scirex" / "Preprocessed_Scirex.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert all(x["content"].startswith("section : ") and x["id"].startswith("scirex-") for x in lines)


def test_dblp_pickles_have_the_official_shapes(synth_roots):
    import networkx as nx

    d = synth_roots[0] / "data" / "external_corpus" / "dblp"
    objs = {}
    for name in (
        "paper_net",
        "author_net",
        "title2id_dict",
        "author2id_dict",
        "id2title_dict",
        "id2author_dict",
    ):
        with open(d / f"{name}.pkl", "rb") as f:
            objs[name] = pickle.load(f)
    pn, an = objs["paper_net"], objs["author_net"]
    assert isinstance(pn, nx.DiGraph) and isinstance(an, nx.Graph) and not an.is_directed()
    keys = [
        "title",
        "authors",
        "year",
        "venue",
        "n_citation",
        "keywords",
        "doc_type",
        "page_start",
        "page_end",
    ]
    for pid in list(objs["id2title_dict"])[:50]:
        attrs = pn.nodes[pid]
        assert list(attrs) == keys and attrs["year"] >= 2021 and set(attrs["venue"]) == {"raw"}
        assert objs["title2id_dict"][attrs["title"]] == pid
    # pre-2021 references: in the graph, not in the dicts; some bare, some with attributes
    old = [n for n in pn if n not in objs["id2title_dict"]]
    assert old and any(pn.nodes[n] == {} for n in old) and any(pn.nodes[n] for n in old)
    for _, _, e in an.edges(data=True):
        assert set(e) == {"weight", "papers", "n_citation"}
        assert e["weight"] == len(e["papers"]) == len(e["n_citation"])
        assert e["weight"] == 2 * len(set(e["papers"])) - 1  # the reference's double count
    assert all(set(an.nodes[a]) == {"org"} for a in list(an)[:50])


# ---------------------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_other_bytes(synth_roots, tmp_path):
    from seer_env.envs.toolqa.synth_questions import write_questions

    again = tmp_path / "again"
    generate_corpus(again, scale="tiny", seed=0)
    for diff in ("easy", "hard"):
        write_questions(again, generate_questions(again, diff, per_template=PER_TEMPLATE, seed=0))
    a, b, c = tree_digest(synth_roots[0]), tree_digest(again), tree_digest(synth_roots[1])
    assert a == b
    assert set(a) == set(c)
    assert all(a[k] != c[k] for k in a), [k for k in a if a[k] == c[k]]


def test_small_build(tmp_path):
    t0 = time.perf_counter()
    generate_corpus(tmp_path, scale="small", seed=3)
    took = time.perf_counter() - t0
    print(f"small corpus built in {took:.1f} s")
    with open(tmp_path / "data" / "external_corpus" / "flights" / "Combined_Flights_2022.csv") as f:
        assert sum(1 for _ in f) == 12_000 + 1
    with open(tmp_path / "data" / "external_corpus" / "coffee" / "coffee_price.csv") as f:
        assert sum(1 for _ in f) == 5_746 + 1


# ---------------------------------------------------------------------------------------- synth env, CLI


def test_synth_env_builds_once_pickles_and_reuses(tmp_path):
    import gymnasium as gym

    code = (
        "import sys; from seer_env.envs.toolqa.synth_env import synth_root; "
        "print(synth_root('tiny', 5, sys.argv[1]))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0].decode().strip() for p in procs]
    assert all(p.returncode == 0 for p in procs) and outs[0] == outs[1]
    root = Path(outs[0])
    assert (root / ".complete").is_file()
    assert [x.name for x in tmp_path.iterdir() if not x.name.endswith(".lock")] == [root.name]
    assert root.name.startswith("tiny-5-v")
    mark = (root / ".complete").stat().st_mtime_ns
    env = gym.make("seer_env:ToolQA-Synth-hard-v0", scale="tiny", seed=5, cache_dir=str(tmp_path),
                   per_template=1, domains=["coffee", "dblp"], embedder=HashEmbedder())  # fmt: skip
    assert (root / ".complete").stat().st_mtime_ns == mark  # reused, not rebuilt
    assert len(env.unwrapped.task_ids) == 23
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    info, steps, reward, _ = _play(clone, OraclePolicy(), clone.task_ids[0])
    assert reward == 1.0


def test_synth_env_under_async_vector_env(tmp_path):
    import gymnasium as gym
    from gymnasium.vector import AsyncVectorEnv

    from seer_env.envs.toolqa.synth_env import synth_root

    synth_root("tiny", 6, tmp_path)

    def make():
        return gym.make("seer_env:ToolQA-Synth-easy-v0", scale="tiny", seed=6, cache_dir=str(tmp_path),
                        per_template=1, domains=["flight"], embedder=HashEmbedder())  # fmt: skip

    venv = AsyncVectorEnv([make, make], shared_memory=False)
    try:
        obs, info = venv.reset(seed=0)
        assert len(obs) == 2 and all(isinstance(o, str) and o for o in obs)
    finally:
        venv.close()


def test_cli_synth_and_verify(tmp_path, capsys):
    from seer_env.cli import main

    out = tmp_path / "cli"
    assert (
        main(
            [
                "data",
                "toolqa",
                "synth",
                "--out",
                str(out),
                "--scale",
                "tiny",
                "--seed",
                "2",
                "--per-template",
                "1",
            ]
        )
        == 0
    )
    assert main(["data", "toolqa", "verify", str(out)]) == 0
    assert main(["data", "toolqa", "verify", str(tmp_path / "nothing")]) == 1
    assert "missing" in capsys.readouterr().out
    assert main(["data", "toolqa", "where"]) == 0
    assert "TOOLQA_DATA_DIR" in capsys.readouterr().out
