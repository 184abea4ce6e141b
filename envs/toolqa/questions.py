"""ToolQA question records and the reader for the official JSONL files.

The released files have quirks that the reader absorbs: bare `NaN` answers (not strict
JSON; read as the string "NaN", as SEER's copy writes them), the hard agenda file named
`genda-hard.jsonl`, `flight` (singular) file names, and qids `hard-yelp-00xx` inside airbnb-hard
(kept as written: the domain comes from the file name).
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seer_env.envs.toolqa.domains import DIFFICULTIES, DOMAINS
from seer_env.types import ToolCall

# File-name stems as released or written by the notebooks, mapped to the domain label.
_DOMAIN_ALIASES = {"flights": "flight", "genda": "agenda"}
_FILE_RE = re.compile(r"^(?P<domain>[a-z0-9]+)-(?P<difficulty>easy|hard)\.jsonl$")


@dataclass
class Question:
    """One ToolQA question. `gold_chain` and `template` are filled for generated questions."""

    qid: str
    domain: str
    difficulty: str
    question: str
    answer: Any
    gold_chain: list[ToolCall] | None = None
    template: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "qid": self.qid,
            "domain": self.domain,
            "difficulty": self.difficulty,
            "question": self.question,
            "answer": self.answer,
        }
        if self.gold_chain is not None:
            d["gold_chain"] = [c.to_dict() for c in self.gold_chain]
        if self.template is not None:
            d["template"] = self.template
        if self.meta:
            d["meta"] = dict(self.meta)
        return d

    @classmethod
    def from_dict(
        cls, d: dict[str, Any], domain: str | None = None, difficulty: str | None = None
    ) -> Question:
        chain = d.get("gold_chain")
        qid = str(d.get("qid", ""))
        return cls(
            qid=qid,
            domain=d.get("domain") or domain or _domain_from_qid(qid) or "",
            difficulty=d.get("difficulty") or difficulty or _difficulty_from_qid(qid) or "",
            question=str(d.get("question", "")),
            answer=_clean_answer(d.get("answer")),
            gold_chain=[c if isinstance(c, ToolCall) else ToolCall.from_dict(c) for c in chain]
            if chain is not None
            else None,
            template=d.get("template"),
            meta=dict(d.get("meta") or {}),
        )


def _clean_answer(a: Any) -> Any:
    if isinstance(a, float) and math.isnan(a):
        return "NaN"
    return a


def _difficulty_from_qid(qid: str) -> str | None:
    head = qid.split("-", 1)[0]
    return head if head in DIFFICULTIES else None


def _domain_from_qid(qid: str) -> str | None:
    parts = qid.split("-")
    if len(parts) >= 3:
        d = _DOMAIN_ALIASES.get(parts[1], parts[1])
        return d if d in DOMAINS else None
    return None


def parse_question_file_name(path: str | Path) -> tuple[str, str] | None:
    """(domain, difficulty) from an official file name, or None when it is not one."""
    m = _FILE_RE.match(Path(path).name)
    if not m:
        return None
    return _DOMAIN_ALIASES.get(m["domain"], m["domain"]), m["difficulty"]


# parsed question files, shared by every env of the process: a runner opens one env per concurrent
# episode, and parsing thousands of gold chains again for each showed up in its profile.
# Keyed by the file's identity and version, so an edited file is read again.
_FILE_CACHE: dict[tuple, tuple[tuple, tuple[Question, ...]]] = {}
_FILE_CACHE_LOCK = threading.Lock()


def _read_file(path: Path, domain: str | None, difficulty: str | None) -> list[Question]:
    """The questions of one file (parsed once per process and version of the file; treat as read-only)."""
    st = path.stat()
    key, version = (str(path.resolve()), domain, difficulty), (st.st_mtime_ns, st.st_size)
    with _FILE_CACHE_LOCK:
        cached = _FILE_CACHE.get(key)
    if cached is None or cached[0] != version:
        cached = (version, tuple(_parse_file(path, domain, difficulty)))
        with _FILE_CACHE_LOCK:
            _FILE_CACHE[key] = cached
    return list(cached[1])


def _parse_file(path: Path, domain: str | None, difficulty: str | None) -> list[Question]:
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)  # Python's json accepts the bare NaN of the released files
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not a JSON line ({exc.msg})") from None
            out.append(Question.from_dict(d, domain=domain, difficulty=difficulty))
    return out


def _question_dirs(root: Path, difficulty: str | None) -> list[Path]:
    """Folders that may hold official question files, under a data root, a questions folder or itself."""
    diffs = [difficulty] if difficulty else list(DIFFICULTIES)
    cands = []
    for base in (root / "data" / "questions", root / "questions", root):
        for d in diffs:
            cands.append(base / d)
        cands.append(base)
    seen, out = set(), []
    for c in cands:
        if c.is_dir() and c.resolve() not in seen:
            seen.add(c.resolve())
            out.append(c)
    return out


def load_questions(
    path: str | Path, difficulty: str | None = None, domains: list[str] | tuple[str, ...] | None = None
) -> list[Question]:
    """Read ToolQA questions from one JSONL file or from a folder of official question files.

    A folder may be a ToolQA root (`data/questions/{easy,hard}/`), a `questions` folder or a folder
    of `{domain}-{difficulty}.jsonl` files. Questions come in domain order (DOMAINS), then file order.
    """
    path = Path(path)
    want = None if domains is None else {_DOMAIN_ALIASES.get(d, d) for d in domains}
    if path.is_file():
        parsed = parse_question_file_name(path)
        dom, diff = parsed if parsed else (None, None)
        qs = _read_file(path, dom, diff)
    elif path.is_dir():
        files: dict[tuple[str, str], Path] = {}
        for folder in _question_dirs(path, difficulty):
            for f in sorted(folder.glob("*.jsonl")):
                parsed = parse_question_file_name(f)
                if parsed and parsed not in files:
                    files[parsed] = f
        if not files:
            raise FileNotFoundError(f"no ToolQA question files (<domain>-<difficulty>.jsonl) under {path}")
        qs = []
        order = {d: i for i, d in enumerate(DOMAINS)}
        for (dom, diff), f in sorted(files.items(), key=lambda kv: (kv[0][1], order.get(kv[0][0], 99))):
            qs.extend(_read_file(f, dom, diff))
    else:
        raise FileNotFoundError(f"no such question file or folder: {path}")
    if difficulty is not None:
        qs = [q for q in qs if q.difficulty == difficulty]
    if want is not None:
        qs = [q for q in qs if q.domain in want]
    return qs


def save_questions(questions: list[Question], path: str | Path) -> Path:
    """Write questions as JSONL (one `Question.to_dict()` per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps(q.to_dict(), ensure_ascii=False) + "\n")
    return path
