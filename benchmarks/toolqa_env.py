"""Oracle steps per second on generated hard questions: our ToolQA env against the reference tool approach.

The reference approach (ToolQA's ReAct tools, re-created here) builds fresh tools for every question;
LoadDB runs `pd.read_csv` (yelp: `json.loads` per line + DataFrame) and `astype(str)` on the whole table,
FilterDB applies boolean masks on the string columns condition by condition, GetValue joins the column,
LoadGraph unpickles the six DBLP files, the retrievers re-read the corpus file and rank precomputed
document embeddings (Chroma, persisted) against the embedded query, PythonInterpreter is an in-process
`exec`, SQL runs on a database that is already up (an in-memory SQLite built before timing).

Ours: `ToolQAEnv` + `OraclePolicy` through `env.step`, after one warm-up question per template (the
reference's document embeddings and SQL tables are also prepared before timing). Both use the same
embedding model for retrieval.

Run:  python benchmarks/toolqa_env.py [--scale small] [--questions 1000] [--ref-limit N] [--workdir DIR]
The figure in the notes: --scale eighth --embedder hash --ref-limit 124 --workdir DIR
With `--ref-limit`, the reference plays only the first N questions of the same set (its rate is per step).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pickle
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np


class RefTools:
    """The reference tool semantics with the reference's per-call costs (see module docstring)."""

    def __init__(self, root: Path, embed, doc_vecs: dict, sql: sqlite3.Connection):
        self.root = root
        self.ext = root / "data" / "external_corpus"
        self.embed = embed
        self.doc_vecs = doc_vecs
        self.sql = sql
        self.df = None
        self.graphs = None

    def run(self, name: str, arg: str) -> str:
        try:
            return getattr(self, name)(arg)
        except Exception as exc:  # the reference turns every tool error into a message
            return f"error: {type(exc).__name__}"

    def LoadDB(self, name: str) -> str:
        import pandas as pd

        if name == "flights":
            df = pd.read_csv(self.ext / "flights" / "Combined_Flights_2022.csv")
        elif name == "coffee":
            df = pd.read_csv(self.ext / "coffee" / "coffee_price.csv")
        elif name == "airbnb":
            df = pd.read_csv(self.ext / "airbnb" / "Airbnb_Open_Data.csv", low_memory=False)
        elif name == "yelp":
            with open(self.ext / "yelp" / "yelp_academic_dataset_business.json") as f:
                df = pd.DataFrame([json.loads(line) for line in f])
        else:
            raise ValueError(name)
        self.df = df.astype(str)
        return f"We have successfully loaded the {name} database, including the following columns: {', '.join(self.df.columns)}."

    def FilterDB(self, arg: str) -> str:
        for cond in arg.split(", "):
            for op in (">=", "<=", ">", "<", "="):
                if op in cond:
                    col, val = cond.split(op)[:2]
                    s = self.df[col]
                    mask = {"=": s == val, ">=": s >= val, "<=": s <= val, ">": s > val, "<": s < val}[op]
                    self.df = self.df[mask]
                    break
        return f"We have successfully filtered the data ({len(self.df)} rows)."

    def GetValue(self, col: str) -> str:
        v = self.df[col].tolist()
        return str(v[0]) if len(v) == 1 else ", ".join(v)

    def LoadGraph(self, name: str) -> str:
        d = self.ext / "dblp"
        g = {}
        for k in (
            "paper_net",
            "author_net",
            "title2id_dict",
            "author2id_dict",
            "id2title_dict",
            "id2author_dict",
        ):
            with open(d / f"{k}.pkl", "rb") as f:
                g[k] = pickle.load(f)
        self.graphs = g
        return "DBLP data is loaded, including two graphs: AuthorNet and PaperNet."

    def _g(self, name):
        g = self.graphs
        if name == "PaperNet":
            return g["paper_net"], g["title2id_dict"], g["id2title_dict"]
        return g["author_net"], g["author2id_dict"], g["id2author_dict"]

    def NeighbourCheck(self, arg: str) -> str:
        name, node = arg.split(", ")
        graph, to_id, to_name = self._g(name)
        return str([to_name[n] for n in graph.neighbors(to_id[node])])

    def NodeCheck(self, arg: str) -> str:
        name, node = arg.split(", ")
        graph, to_id, _ = self._g(name)
        return str(graph.nodes[to_id[node]])

    def EdgeCheck(self, arg: str) -> str:
        name, a, b = arg.split(", ")
        graph, to_id, _ = self._g(name)
        e = graph.edges[to_id[a], to_id[b]]
        if name == "AuthorNet":
            e["papers"] = [self.graphs["id2title_dict"][p] for p in e["papers"]]
        return str(e)

    def _retrieve(self, kind: str, query: str) -> str:
        rel, field = {"agenda": ("agenda/agenda_descriptions_merged.jsonl", "event"),
                      "scirex": ("scirex/Preprocessed_Scirex.jsonl", "content")}[kind]  # fmt: skip
        with open(self.ext / rel) as f:  # the reference re-reads the corpus on every call
            texts = [json.loads(line)[field] for line in f]
        q = self.embed([query])[0]
        top = np.argsort(-(self.doc_vecs[kind] @ q))[:3]
        return "\n".join(texts[i] for i in top)

    def RetrieveAgenda(self, q: str) -> str:
        return self._retrieve("agenda", q)

    def RetrieveScirex(self, q: str) -> str:
        return self._retrieve("scirex", q)

    def PythonInterpreter(self, code: str) -> str:
        g = {"ans": 0}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, g)
        return str(g["ans"])

    def SQLInterpreter(self, sql: str) -> str:
        sql = sql.replace("yelp.yelp_data", "yelp_data").replace("flights.flights_data", "flights_data")
        cur = self.sql.execute(sql)
        keys = [d[0] for d in cur.description]
        return "\n".join(
            ", ".join(f"{k}: {v}" for k, v in zip(keys, row, strict=False)) for row in cur.fetchall()
        )


def _arg(call) -> str:
    return ", ".join(str(v) for v in call.arguments.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "eighth", "full"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--ref-limit", type=int, default=None, help="reference plays only the first N questions")
    ap.add_argument("--workdir", type=Path, default=None, help="an existing or new generated root")
    ap.add_argument(
        "--embedder", default="default", choices=["default", "hash"],
        help="retriever embeddings for both sides: the packaged MiniLM, or a hashed bag of words (tool cost only)",
    )  # fmt: skip
    args = ap.parse_args()

    import pandas as pd
    from oracle_play import play_oracle

    from seer_env.agents.oracle import OraclePolicy
    from seer_env.envs.toolqa.env import ToolQAEnv
    from seer_env.envs.toolqa.synth_corpus import generate_corpus
    from seer_env.envs.toolqa.synth_questions import generate_questions, templates

    if args.embedder == "hash":
        from seer_env.embedding import HashEmbedder

        embed = HashEmbedder(1024)
    else:
        from seer_env.embedding import embed
    root = args.workdir or Path(tempfile.mkdtemp(prefix="toolqa-env-bench-"))
    if not (root / "data" / "external_corpus" / "flights" / "Combined_Flights_2022.csv").is_file():
        t0 = time.perf_counter()
        generate_corpus(root, scale=args.scale, seed=args.seed)
        print(f"generated a {args.scale} corpus in {time.perf_counter() - t0:.1f} s at {root}")
    per = -(-args.questions // len(templates("hard")))
    t0 = time.perf_counter()
    qs = generate_questions(root, "hard", per_template=per, seed=args.seed)
    # interleave templates so any prefix (--ref-limit) has the same mix
    by_t: dict[str, list] = {}
    for q in qs:
        by_t.setdefault(q.template, []).append(q)
    mixed = [q for group in zip(*by_t.values(), strict=False) for q in group]
    used = {id(q) for q in mixed}
    mixed += [q for q in qs if id(q) not in used]
    qs = mixed[: args.questions]
    print(f"{len(qs)} hard questions ({len(by_t)} templates) generated in {time.perf_counter() - t0:.1f} s")
    print("domains:", dict(Counter(q.domain for q in qs)))

    # ---------------------------------------------------------------- ours
    env = ToolQAEnv(
        difficulty="hard", data_dir=root, questions=qs, embedder=embed if args.embedder == "hash" else None
    )
    policy = OraclePolicy()
    warm = {}
    for tid, q in zip(env.task_ids, qs, strict=False):
        warm.setdefault(q.template, tid)

    ours_by_tool: Counter = Counter()

    def play(tid):
        return play_oracle(env, policy, tid, ours_by_tool)

    for tid in warm.values():
        play(tid)
    ours_by_tool.clear()
    t0 = time.perf_counter()
    steps = wins = 0
    for tid in env.task_ids:
        n, r = play(tid)
        steps, wins = steps + n, wins + r
    ours_s = time.perf_counter() - t0
    ours_rate = steps / ours_s
    print(
        f"ours:      {steps} steps in {ours_s:.1f} s = {ours_rate:.1f} steps/s; oracle reward {wins:.0f}/{len(qs)}"
    )

    # ---------------------------------------------------------------- reference
    ext = root / "data" / "external_corpus"
    doc_vecs = {}
    for kind, rel, field in (("agenda", "agenda/agenda_descriptions_merged.jsonl", "event"),
                             ("scirex", "scirex/Preprocessed_Scirex.jsonl", "content")):  # fmt: skip
        with open(ext / rel) as f:
            doc_vecs[kind] = embed([json.loads(line)[field] for line in f])
    con = sqlite3.connect(":memory:")
    with open(ext / "yelp" / "yelp_academic_dataset_business.json") as f:
        ydf = (
            pd.DataFrame([json.loads(line) for line in f]).astype(str).replace({"None": "---", "nan": "---"})
        )
    ydf.to_sql("yelp_data", con, index=False)
    ref_qs = qs[: args.ref_limit] if args.ref_limit else qs
    ref_by_tool: Counter = Counter()
    t0 = time.perf_counter()
    rsteps = 0
    for q in ref_qs:
        tools = RefTools(root, embed, doc_vecs, con)  # fresh tools per question, as the reference
        for c in q.gold_chain:
            ts = time.perf_counter()
            tools.run(c.name, _arg(c))
            ref_by_tool[c.name] += time.perf_counter() - ts
            rsteps += 1
        rsteps += 1  # Finish
    ref_s = time.perf_counter() - t0
    ref_rate = rsteps / ref_s
    print(f"reference: {rsteps} steps in {ref_s:.1f} s = {ref_rate:.1f} steps/s ({len(ref_qs)} questions)")
    print(f"ratio ours / reference: {ours_rate / ref_rate:.1f}x (target >= 50x)")
    print("seconds per tool (ours over all questions | reference over its questions):")
    for name in sorted(set(ours_by_tool) | set(ref_by_tool)):
        print(f"  {name:<18} {ours_by_tool[name]:8.2f} | {ref_by_tool[name]:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
