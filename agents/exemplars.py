"""Exemplars of the few-shot policies from a user's file (`--exemplars FILE`), e.g. a reference's own.

Without a file the few-shot policies show the project's own exemplars: the seed experiences the pool
ships for the env's namespace (ToolQA: one solved question per domain). With one, by its suffix:

- `.jsonl`: one solved trajectory per line, in the pool's seed format (`query`, `steps` with
  `action` {`name`, `arguments`}, `observation`, `thought`); each policy renders them in its own trace
  format (ReAct: `Thought i` / `Action i` / `Observation i`; SEER: `Step i` / `Result i`);
- `.json`: an object whose values are exemplar blocks (text), picked per episode from reset info:
  the task's `difficulty` (`easy`, `hard`), else its `domain`, else the key `"*"` (ToolQA's ReAct
  shows one block for easy questions and another for hard ones);
- any other suffix (`.txt`, ...): the exemplar block itself, used for every task.

A text block goes into the prompt as written, between the examples header and `(END OF EXAMPLES)`,
so a reference's few-shot string saved to a file reproduces its prompt's examples (docs/paper_protocol.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seer_env.types import Trajectory


class ExemplarFile:
    """The exemplars of one file (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no exemplar file {self.path}")
        text = self.path.read_text(encoding="utf-8")
        self.blocks: dict[str, str] = {}
        self.trajectories: list[Trajectory] | None = None
        suffix = self.path.suffix.lower()
        if suffix == ".jsonl":
            trajs = []
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    trajs.append(Trajectory.from_dict({"env_id": "", "task_id": str(n), **obj}))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ValueError(f"{self.path}:{n}: not a trajectory ({exc})") from None
            if not trajs:
                raise ValueError(f"{self.path} holds no trajectory")
            self.trajectories = trajs
        elif suffix == ".json":
            obj = json.loads(text)
            if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
                raise ValueError(f"{self.path}: a .json exemplar file is an object of text blocks")
            self.blocks = dict(obj)
        else:
            if not text.strip():
                raise ValueError(f"{self.path} is empty")
            self.blocks = {"*": text}

    def block_for(self, info: dict[str, Any]) -> str | None:
        """The text block for a task (by difficulty, then domain, then `*`), or None."""
        for key in (info.get("difficulty"), info.get("domain"), "*"):
            if key is not None and str(key) in self.blocks:
                return self.blocks[str(key)]
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "blocks": sorted(self.blocks),
            "trajectories": None if self.trajectories is None else len(self.trajectories),
        }
