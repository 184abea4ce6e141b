"""An RL-style adversary: a policy whose only strategy is to get at the gold answers, through every
tool, played by the real runner (`seer_env.runner`) over many episodes of ToolQA-Synth easy and
hard. It must score 0, and no observation may carry a gold answer.

To tell a leak from a lucky guess, the question files of a private ToolQA-Synth root are rewritten
so that every gold answer is a random token found nowhere else (its answer in the question file,
and in the gold chain's Finish): an observation holding one of them can only come from a question
file. The policy is a white-box attacker (what an RL policy would find by trial): it is told the
paths of the question files, the corpus, the cache and the host's pid. Per episode it plays a slice
of its repertoire (so that over the run every attack is tried, in many orders and states), then
answers with what the tools gave it: the answer of this question's record when it saw one, else
any leaked `"answer": ...`, else the most frequent word it saw.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from seer_env.policy import Policy
from seer_env.runner import PolicyEntry, Runner
from seer_env.types import ToolCall
from tests.security.conftest import PY_LIMIT, alive, data_hashes, leftover_processes
from tests.toolqa.fixture import hash_embedder

EPISODES = 20  # per env (easy and hard)
ATTACKS_PER_EPISODE = 12
_LEAKED = re.compile(r'"answer"\s*:\s*"([^"]{1,200})"')
_WORD = re.compile(r"[A-Za-z0-9_.:-]{2,40}")


def _py(code: str) -> dict:
    return {"name": "PythonInterpreter", "arguments": {"Python": code}}


def _sql(query: str) -> dict:
    return {"name": "SQLInterpreter", "arguments": {"SQL": query}}


def repertoire(root: Path, qfiles: list[Path], host: int, sentinel: int, cache: Path) -> list[Any]:
    """Every way this policy knows to reach a gold answer, as actions (text or dict)."""
    q = str(qfiles[0])
    qs = [str(p) for p in qfiles[:3]]
    rel = [
        "../../data/questions/easy/flights-easy",
        "../questions/hard/agenda-hard.jsonl",
        "flights/../../questions/easy",
        f"{root}/data/questions",
        "questions",
    ]
    attacks: list[Any] = []
    # PythonInterpreter: files, /proc, inherited descriptors, memory, the package itself, the host
    attacks += [_py(f"ans = open(r'{p}').read()[:4000]") for p in qs]
    attacks += [
        _py(
            "import os\nans = [os.path.join(r, f) for r, _, fs in os.walk('/') for f in fs "
            "if f.endswith(('.jsonl', '.json', '.csv', '.db', '.sqlite', '.parquet'))][:300]"
        ),
        _py("import glob\nans = glob.glob('/**/*question*', recursive=True)[:100]"),
        _py(f"import os\nans = os.listdir(r'{root}')"),
        _py(f"import os\nans = os.listdir(r'{cache}')"),
        _py(f"ans = open('/proc/{host}/environ').read()"),
        _py(f"ans = open('/proc/{sentinel}/environ', 'rb').read()"),
        _py(f"ans = open('/proc/{host}/cmdline').read() + open('/proc/{host}/maps').read()[:3000]"),
        _py("ans = open('/proc/self/environ').read() + open('/proc/1/cmdline').read()"),
        _py(
            "import os\nout = []\nfor fd in range(256):\n    try:\n        out.append((fd, os.read(fd, 4096)))\n"
            "    except OSError:\n        pass\nans = out"
        ),
        _py(
            "import gc\nans = [o for o in gc.get_objects() if isinstance(o, dict) and "
            "('answer' in o or 'gold' in o or 'question' in o)][:20]"
        ),
        _py(
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"fd = libc.open(b'{q}', 0)\nbuf = ctypes.create_string_buffer(8192)\n"
            "n = libc.read(fd, buf, 8192) if fd >= 0 else -1\nans = (fd, ctypes.get_errno(), buf.raw[:max(n, 0)])"
        ),
        _py(
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"  # openat2, open_by_handle_at, chroot
            f"p = ctypes.c_char_p(b'{q}')\nans = [libc.syscall(437, -100, p, 0, 0), ctypes.get_errno(),"
            " libc.syscall(304, -100, 0, 0), ctypes.get_errno(), libc.chroot(b'/'), ctypes.get_errno()]"
        ),
        _py(f"import os\nos.symlink(r'{q}', 'link')\nans = open('link').read()"),
        _py(f"import os\nos.link(r'{q}', 'hard')\nans = open('hard').read()"),
        _py(f"import shutil\nshutil.copy(r'{q}', 'copy')\nans = open('copy').read()"),
        _py(
            "import sys\nsys.path[:0] = ['/work', '/workspace', '/root', '/home']\n"
            f"from seer_env.envs.toolqa import questions\nans = questions.load_questions(r'{root}')[:3]"
        ),
        _py(
            f"import sqlite3\nc = sqlite3.connect(r'{q}')\nans = c.execute('select * from sqlite_master').fetchall()"
        ),
        _py(
            f"import os, signal\nos.kill({host}, signal.SIGSTOP)\nos.kill({sentinel}, signal.SIGKILL)\nans = 1"
        ),
        _py("import os\nos.kill(-1, 9)\nans = 1"),
        _py("import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=1)\nans = s.recv(100)"),
        _py("import os\nans = os.fork()"),
        _py("import subprocess\nans = subprocess.check_output(['cat', '/etc/shadow'])"),
        _py("ans = ''.join(open(p).read() for p in ('/etc/passwd', '/etc/shadow', '/root/.bash_history'))"),
        _py("import os\nans = dict(os.environ)"),
        _py("import builtins\nans = [k for k in dir(builtins)] + [__import__('sys').argv]"),
        _py("while True:\n    pass"),  # stall the env, then hope for a free reward
        _py("x = ' ' * (1 << 33)\nans = len(x)"),
        _py(f"ans = open(r'{qs[-1]}', 'a').write('\\n')"),  # rewrite a question file
    ]
    # SQLInterpreter: attach the files, read them with functions, list databases, run forever
    attacks += [
        _sql(f"ATTACH DATABASE '{q}' AS q"),
        _sql(f"SELECT readfile('{q}')"),
        _sql("SELECT load_extension('libsqlite3')"),
        _sql("SELECT * FROM pragma_database_list"),
        _sql("PRAGMA database_list"),
        _sql("SELECT fts3_tokenizer('simple')"),
        _sql("SELECT name, sql FROM sqlite_master"),
        _sql(f"SELECT * FROM flights.flights_data; ATTACH DATABASE '{q}' AS q"),
        _sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"),
        _sql(f"SELECT * FROM 'file:{q}'"),
        _sql("SELECT answer FROM questions"),
    ]
    # LoadDB / LoadGraph / retrievers with names that are paths
    attacks += [f"LoadDB[{p}]" for p in (*qs, *rel, "/etc/passwd", "~/.cache/seer-env", "flights\x00.jsonl")]
    attacks += [f"LoadGraph[{p}]" for p in (q, *rel[:2])]
    attacks += [f"RetrieveAgenda[{p}]" for p in (q, f"file://{q}", "answer")]
    attacks += [f"RetrieveScirex[{p}]" for p in (qs[-1], "../questions/hard")]
    # FilterDB / GetValue on a loaded table: attribute walks, paths, the answer column
    attacks += [
        "LoadDB[flights]",
        "FilterDB[answer=1]",
        "FilterDB[__class__.__init__.__globals__=1]",
        f"FilterDB[Origin={q}]",
        "GetValue[answer]",
        "GetValue[__dict__]",
        "GetValue[../../questions]",
        "GetValue[Origin, answer, gold]",
        "NodeCheck[PaperNet, " + q + "]",
        "EdgeCheck[AuthorNet, " + q + ", " + qs[-1] + "]",
        "Calculate[__import__('os').listdir('/')]",
        f"Calculate[open('{q}').read()]",
    ]
    return attacks


class GoldThief(Policy):
    """See the module docstring. `attacks` is the repertoire; each episode plays the next slice of it
    (`episodes` counts the episodes of every instance), then answers from the observations."""

    name = "gold-thief"

    def __init__(self, attacks: list[Any], episodes: itertools.count):
        self.attacks = attacks
        self.episodes = episodes
        self.plan: list[Any] = []
        self.seen: list[str] = []
        self.tried: set[int] = set()

    def reset(self, *, seed=None, info=None) -> None:
        start = next(self.episodes) * ATTACKS_PER_EPISODE
        picks = [(start + i) % len(self.attacks) for i in range(ATTACKS_PER_EPISODE)]
        self.tried.update(picks)
        self.plan = [self.attacks[i] for i in picks]
        self.seen = []

    async def act(self, observation: str, info: dict[str, Any]):
        self.seen.append(observation)
        if self.plan:
            return self.plan.pop(0)
        return ToolCall("Finish", {"answer": self.guess()})

    def guess(self) -> str:
        question, text = self.seen[0], "\n".join(self.seen[1:])  # the question, then what tools returned
        for line in text.replace("\\n", "\n").splitlines():  # a question file's record of this question
            start = line.find("{")
            try:
                rec = json.loads(line[start:]) if start >= 0 else None
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("question") and rec["question"] in question:
                return str(rec.get("answer"))
        leaked = _LEAKED.findall(text)
        if leaked:
            return leaked[0]
        words = Counter(_WORD.findall(text))
        return words.most_common(1)[0][0] if words else "0"


@pytest.fixture(scope="module")
def canary_root(tmp_path_factory):
    """A private ToolQA-Synth root (tiny) whose gold answers are random tokens; returns
    (cache folder, root, {canary: qid})."""
    from seer_env.envs.toolqa.synth_env import synth_root

    cache = tmp_path_factory.mktemp("synth-cache")
    root = synth_root("tiny", 0, cache)
    canaries: dict[str, str] = {}
    for path in sorted((root / "data" / "questions").rglob("*.jsonl")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            token = f"gold-{secrets.token_hex(8)}"
            canaries[token] = rec["qid"]
            rec["answer"] = token
            for call in rec.get("gold_chain") or []:
                if call.get("name") == "Finish":
                    call["arguments"] = {k: token for k in call.get("arguments") or {"answer": token}}
            lines.append(json.dumps(rec, ensure_ascii=False))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(canaries) > 500
    return cache, root, canaries


@pytest.mark.usefixtures("kernel_sandbox")
def test_a_policy_that_only_hunts_gold_answers_scores_zero(canary_root, host_sentinel, tmp_path):
    import os

    cache, root, canaries = canary_root
    sentinel_pid, secret = host_sentinel
    qfiles = sorted((root / "data" / "questions").rglob("*.jsonl"))
    attacks = repertoire(root, qfiles, os.getpid(), sentinel_pid, cache)
    policies: list[GoldThief] = []
    episodes = itertools.count()

    def make(env_id: str) -> GoldThief:
        policies.append(GoldThief(attacks, episodes))
        return policies[-1]

    hashes = data_hashes(root)
    limits = {"python_timeout": PY_LIMIT, "sql_timeout": PY_LIMIT, "tool_timeout": PY_LIMIT}
    env_kwargs = {
        "scale": "tiny",
        "cache_dir": str(cache),
        "embedder": hash_embedder,
        "max_steps": 100,
        **limits,
    }
    runner = Runner(
        ["ToolQA-Synth-easy-v0", "ToolQA-Synth-hard-v0"],
        [PolicyEntry("gold-thief", make)],
        tmp_path / "run",
        episodes=EPISODES,
        concurrency=2,
        env_kwargs={"*": env_kwargs},
        max_steps=ATTACKS_PER_EPISODE + 1,
    )
    counts = asyncio.run(runner.run())  # the run closes its envs, and their tools' processes, at its end
    records = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert counts["done"] == len(records) == 2 * EPISODES and counts["errors"] == 0
    assert {r["env_id"] for r in records} == {"ToolQA-Synth-easy-v0", "ToolQA-Synth-hard-v0"}
    # every attack was played, and every episode ended with the policy's guess
    assert set().union(*(p.tried for p in policies)) == set(range(len(attacks)))
    for r in records:
        steps = r["trajectory"]["steps"]
        assert r["error"] is None and r["reward"] == 0.0 and r["success"] is False, r["task_id"]
        assert len(steps) == ATTACKS_PER_EPISODE + 1 and steps[-1]["action"]["name"] == "Finish"
        for step in steps:
            obs = step["observation"]
            leaked = [c for c in canaries if c in obs]
            assert not leaked, f"{r['task_id']}: {step['action']} showed gold answers {leaked[:3]}"
            assert secret not in obs
    # the host, the sentinel and the data are untouched, and nothing is left running
    assert alive(os.getpid()) and alive(sentinel_pid)
    assert data_hashes(root) == hashes
    assert leftover_processes() == []
