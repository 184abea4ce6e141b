"""`ToolQAEnv`: ToolQA questions as a Gymnasium environment (conventions: docs/architecture.md).

One episode = one question. An action is one tool call (any form `parse_action` reads); the
observation is the tool's text. `Finish[answer]` ends the episode with reward 1.0 when the answer
scores correct (ToolQA exact match by default). Bad actions never raise: they get an observation
saying what is wrong and the episode goes on; `max_steps` truncates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from seer_env.actions import ActionParseError, parse_action_with_thought
from seer_env.envs.toolqa import corpus as _corpus
from seer_env.envs.toolqa import domains as _domains
from seer_env.envs.toolqa.profiles import DEFAULT_PROFILE, ToolProfile, resolve_profile
from seer_env.envs.toolqa.questions import Question, load_questions
from seer_env.envs.toolqa.scoring import verdicts
from seer_env.envs.toolqa.tools import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TOOL_TIMEOUT,
    MSG_EMPTY_ACTION,
    MSG_INVALID_ACTION,
    MSG_MULTI_ACTION,
    TOOL_NAMES,
    ToolQAToolkit,
    tool_specs,
)
from seer_env.spaces import TextObservation, ToolCallSpace
from seer_env.types import ToolCall

log = logging.getLogger(__name__)

_TOOL_NAME_SET = frozenset(TOOL_NAMES)


def holds_second_call(text: str) -> bool:
    """Whether `text` holds `], Tool[` with a ToolQA tool name: two calls written as one.

    One pass: each `],` is followed over the whitespace, the word and the whitespace after it,
    stretches that no other `],` shares, so the work is linear in the text.
    """
    n = len(text)
    i = text.find("],")
    while i >= 0:
        j = i + 2
        while j < n and text[j].isspace():
            j += 1
        k = j
        while k < n and (text[k].isalnum() or text[k] == "_"):
            k += 1
        if text[j:k] in _TOOL_NAME_SET:
            while k < n and text[k].isspace():
                k += 1
            if k < n and text[k] == "[":
                return True
        i = text.find("],", j)
    return False


class ToolQAEnv(gym.Env):
    """ToolQA (official files or any corpus in the official layout) as a Gymnasium env.

    Args:
        difficulty: "easy" or "hard" (which question files to read).
        data_dir: ToolQA root with data/external_corpus and data/questions (or $TOOLQA_DATA_DIR).
        questions: a question file/folder, or a list of `Question`, instead of the data_dir's files.
        domains: keep only these domains (flight, coffee, yelp, airbnb, dblp, scirex, agenda, gsm8k).
        max_steps: tool calls per episode before truncation.
        tool_profile: whose tool behaviour the tools reproduce: "toolqa" (ToolQA's ReAct runner, the
            default) or "seer" (SEER's runner: `answer` variable, GetValue's limit, the 2048-character
            cut, MySQL-like SQL, ...), or a `ToolProfile` (docs/tool_profiles.md). `typed_filters`,
            `answer_var` and `max_obs_chars` override single fields of it; None keeps the profile's.
        typed_filters: FilterDB compares numbers as numbers (both references compare strings).
        scorer: "em" (ToolQA exact match), "numeric", "judge" (with judge=) or a callable
            `(question, gold, pred) -> bool` (an LLM judge, e.g. `seer_env.judge.LLMJudge`). The
            Finish step's info has `verdicts`: the scorer's name, the exact-match verdict always, and
            under a judge its verdict, reason and error (an error counts the answer wrong).
        embedder: sentence-transformers model name/path for the retrievers (default packaged
            all-MiniLM-L6-v2) or a callable `texts -> float32 array`.
        question_ids: keep only these task ids.
        answer_var: the variable PythonInterpreter returns (profile default: ToolQA `ans`, SEER
            `answer`).
        python_timeout: wall-time limit of PythonInterpreter (seconds).
        python_isolation: "kernel" (default, or $SEER_ENV_PYTHON_ISOLATION): PythonInterpreter runs
            confined by the kernel and is refused where the kernel cannot confine it; "weak" accepts
            the weaker hook-based protection there (docs/sandbox.md). reset `info["python_sandbox"]`
            says which is in force: "kernel", "weak" or "refused".
        sql_timeout, sql_max_rows: SQLInterpreter's time limit (seconds) and cap on returned rows.
        tool_timeout: the time limit (seconds) of every other tool's call.
        max_output_bytes: cap on the UTF-8 size of a tool's result; longer ones are cut with
            `...[too long, cannot be fully displayed]` (docs/tool_limits.md).
        sql_memory_mb: memory cap of the SQL worker process.
        preload: load at construction what the questions' domains need (tables and their SQL
            copies, the DBLP graph, the retriever indexes), so no first call runs out of time
            while data is being prepared.
        max_obs_chars: cut longer tool outputs (retrievers excepted) with SEER's mark; profile default:
            SEER 2048, ToolQA no cut (GetValue on an unfiltered table returns every value); 0: no cut.

    Step `info` carries `ok`, `error` (parse, unknown_tool, bad_arguments, tool_error, timeout) and
    `error_kind`: what kind of failure the step was as the profile's reference would have seen it
    (`profiles.ERROR_KINDS`; None when the step worked); `ToolProfile.halting_error_kinds` are the
    kinds on which that reference ends an episode. Reset `info` names the profile (`tool_profile`)
    and lists those kinds (`halting_error_kinds`), for a policy that follows the reference's rule.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        difficulty: str = "easy",
        data_dir: str | Path | None = None,
        questions: str | Path | Sequence[Question] | None = None,
        domains: Sequence[str] | None = None,
        max_steps: int = 20,
        typed_filters: bool | None = None,
        scorer: str | Callable[[str, Any, Any], bool] = "em",
        embedder: Any = None,
        question_ids: Sequence[str] | None = None,
        render_mode: str | None = None,
        answer_var: str | None = None,
        judge: Callable[[str, Any, Any], bool] | None = None,
        python_timeout: float = 5.0,
        sql_timeout: float = 10.0,
        sql_max_rows: int = 1000,
        max_obs_chars: int | None = None,
        tool_timeout: float = DEFAULT_TOOL_TIMEOUT,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        sql_memory_mb: int = 1024,
        preload: bool = False,
        python_isolation: str | None = None,
        tool_profile: str | ToolProfile = DEFAULT_PROFILE,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        if difficulty not in ("easy", "hard"):
            raise ValueError(f"difficulty must be 'easy' or 'hard', not {difficulty!r}")
        self.difficulty = difficulty
        self.render_mode = render_mode
        self.max_steps = int(max_steps)
        if scorer == "judge" and judge is None:
            raise ValueError("scorer='judge' needs judge=callable(question, gold, pred) -> bool")
        self.scorer = scorer
        self.judge = judge
        self.tool_profile = resolve_profile(tool_profile, typed_filters, answer_var, max_obs_chars)
        self.root = _corpus.resolve_root(data_dir)
        self._questions = self._load(questions, domains, question_ids)
        self._check_corpus()
        self.task_ids = self._make_task_ids(self._questions)
        self._by_id = dict(zip(self.task_ids, self._questions, strict=False))
        profile = self.tool_profile
        self.tool_specs = tool_specs(profile.answer_var, profile.sql_dialect, profile.sql_bare_names)
        self._tools = {t.name: t for t in self.tool_specs}
        self._tool_schemas = [t.openai() for t in self.tool_specs]
        # what generic policies learn about ToolQA (reset info too); the gsm8k hint names the profile's
        # answer variable
        self.env_info = _domains.env_info(profile.answer_var)
        self.action_space = ToolCallSpace(self.tool_specs)
        # an observation is a tool result (cut at max_output_bytes, plus the cut mark), a question or a
        # short message: room for the largest in a vector env's shared buffer
        self.observation_space = TextObservation(max_bytes=int(max_output_bytes) + (64 << 10))
        self._toolkit = ToolQAToolkit(
            self.root,
            embedder=embedder,
            profile=self.tool_profile,
            python_timeout=python_timeout,
            sql_timeout=sql_timeout,
            sql_max_rows=sql_max_rows,
            tool_timeout=tool_timeout,
            max_output_bytes=max_output_bytes,
            sql_memory_mb=sql_memory_mb,
            python_isolation=python_isolation,
        )
        self._log_python_sandbox()
        if preload:
            self._toolkit.prepare(sorted({q.domain for q in self._questions}))
        self._question: Question | None = None
        self._task_id: str | None = None
        self._steps = 0
        self._over = False
        self._last_obs = ""

    # ----------------------------------------------------------------------------- set-up

    def _log_python_sandbox(self) -> None:
        mode = self._toolkit.python_sandbox
        if mode == "kernel":
            log.info("ToolQA: PythonInterpreter runs confined by the kernel (namespaces, seccomp, rlimits)")
        elif mode == "weak":
            log.warning("ToolQA: PythonInterpreter runs with the weak, hook-based protection (opted in)")
        else:
            from seer_env.envs.toolqa.sandbox import kernel_isolation, refusal_message

            log.warning("ToolQA: %s", refusal_message(kernel_isolation()[1]))

    def _load(self, questions, domains, question_ids) -> list[Question]:
        if questions is None:
            if self.root is None:
                raise ValueError(_corpus.MISSING_DATA_HELP)
            try:
                qs = load_questions(self.root, difficulty=self.difficulty, domains=domains)
            except FileNotFoundError as exc:
                raise FileNotFoundError(f"{exc}. {_corpus.MISSING_DATA_HELP}") from None
        elif isinstance(questions, (str, Path)):
            p = Path(questions)
            qs = load_questions(p, difficulty=self.difficulty if p.is_dir() else None, domains=domains)
        else:
            qs = [q if isinstance(q, Question) else Question.from_dict(q) for q in questions]
            if domains is not None:
                qs = [q for q in qs if q.domain in set(domains)]
        if question_ids is not None:
            want = set(question_ids)
            qs = [q for q in qs if q.qid in want or q.meta.get("task_id") in want]
        if not qs:
            raise ValueError("no ToolQA questions selected (check difficulty, domains and question_ids)")
        return qs

    def _check_corpus(self) -> None:
        needed = sorted({q.domain for q in self._questions} - {"gsm8k"})
        if not needed:
            return
        if self.root is None:
            raise ValueError(f"questions of {', '.join(needed)} need a corpus. {_corpus.MISSING_DATA_HELP}")
        missing = _corpus.missing_files(self.root, needed)
        if missing:
            raise FileNotFoundError(
                f"the ToolQA corpus under {_corpus.corpus_dir(self.root)} lacks {', '.join(missing)}. "
                + _corpus.MISSING_DATA_HELP
            )

    @staticmethod
    def _make_task_ids(questions: list[Question]) -> list[str]:
        """qids, made unique: the released airbnb-hard file reuses `hard-yelp-00xx` qids."""
        ids, seen = [], set()
        for q in questions:
            tid = q.qid or f"{q.difficulty}-{q.domain}-{len(ids):04d}"
            if tid in seen:
                num = tid.rsplit("-", 1)[-1]
                tid = f"{q.difficulty}-{q.domain}-{num}"
                k = 1
                while tid in seen:
                    tid, k = f"{q.difficulty}-{q.domain}-{num}#{k}", k + 1
            seen.add(tid)
            ids.append(tid)
        return ids

    @property
    def questions(self) -> list[Question]:
        return list(self._questions)

    def question(self, task_id: str) -> Question:
        return self._by_id[task_id]

    def task_gold(self, task_id: str) -> dict[str, Any]:
        """The expected answer of a task, for the runner's record (policies never see it)."""
        q = self._by_id[task_id]
        return {"answer": q.answer, "question": q.question}

    # ------------------------------------------------------------------------------ episode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        tid = options.get("task_id")
        if tid is None:
            tid = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        elif tid not in self._by_id:
            raise ValueError(f"unknown task_id {tid!r}")
        q = self._by_id[tid]
        self._question, self._task_id = q, tid
        self._toolkit.reset()
        self._steps = 0
        self._over = False
        self._last_obs = q.question
        info: dict[str, Any] = {
            **_domains.env_info(self.tool_profile.answer_var),
            "tools": self._tool_schemas,
            "task_id": tid,
            "domain": q.domain,
            "difficulty": q.difficulty,
            "query": q.question,
            "python_sandbox": self._toolkit.python_sandbox,
            "tool_profile": self.tool_profile.name,
            "halting_error_kinds": sorted(self.tool_profile.halting_error_kinds),
        }
        if options.get("reveal_gold"):
            info["gold"] = {
                "answer": q.answer,
                "chain": [self._gold_call(c) for c in (q.gold_chain or [])],
                "template": q.template,
            }
        return q.question, info

    def _gold_call(self, call: ToolCall) -> dict[str, Any]:
        """A gold call as the profile's tools take it: gold code sets ToolQA's `ans`, so under
        another answer variable it sets that one too (its raw text is then dropped)."""
        d = call.to_dict()
        var = self.tool_profile.answer_var
        if call.name == "PythonInterpreter" and var != "ans":
            args = d["arguments"]
            key = next(iter(args), "Python")
            args[key] = f"{args.get(key, '')}\n{var} = ans"
            d["raw"] = None
        return d

    def _argument(self, call: ToolCall) -> str:
        """The one argument string the reference tool receives: values joined with ', '."""
        spec = self._tools[call.name]
        names = spec.param_names
        vals = [call.arguments[n] for n in names if n in call.arguments]
        vals += [v for k, v in call.arguments.items() if k not in names]
        return ", ".join(v if isinstance(v, str) else ("" if v is None else str(v)) for v in vals)

    def step(self, action: Any):
        if self._question is None:
            raise RuntimeError("call reset() before step()")
        if self._over:
            raise RuntimeError("episode is over; call reset()")
        self._steps += 1
        terminated = False
        reward = 0.0
        info: dict[str, Any] = {"tool": None, "ok": False, "error": None, "error_kind": None}
        obs = self._act(action, info)
        if info.pop("_finish", False):
            terminated = True
            success = info["success"]
            reward = 1.0 if success else 0.0
        truncated = not terminated and self._steps >= self.max_steps
        if truncated:
            info["answer"] = None
            info["success"] = False
        self._over = terminated or truncated
        self._last_obs = obs
        return obs, reward, terminated, truncated, info

    def _act(self, action: Any, info: dict[str, Any]) -> str:
        if action is None or (isinstance(action, (str, bytes)) and not action.strip()):
            info.update(error="parse", error_kind="empty_action")
            return MSG_EMPTY_ACTION
        try:
            call, _ = parse_action_with_thought(action, self._tools)
        except ActionParseError as exc:
            info.update(error="parse", error_kind="parse_error")
            return str(exc)
        except Exception as exc:  # a malformed object is still only a bad action
            info.update(error="parse", error_kind="parse_error")
            return f"Could not read the action ({type(exc).__name__})."
        # `A[x], B[y]` parses as A with argument `x], B[y`: the reference refuses it as two actions
        if any(isinstance(v, str) and holds_second_call(v) for v in call.arguments.values()):
            info.update(error="parse", error_kind="multiple_actions")
            return MSG_MULTI_ACTION
        info["tool"] = call.name
        if call.name not in self._tools:
            info.update(error="unknown_tool", error_kind="unknown_tool")
            return MSG_INVALID_ACTION
        argument = self._argument(call)
        if call.name == "Finish":
            q = self._question
            success, verdict = verdicts(argument, q.answer, self.scorer, q.question, self.judge)
            info.update(ok=True, answer=argument, success=bool(success), verdicts=verdict, _finish=True)
            return "Answer is CORRECT" if success else "Answer is INCORRECT"
        res = self._toolkit.run(call.name, argument)
        info["ok"] = res.ok
        if not res.ok:
            spec = self._tools[call.name]
            wrong_shape = set(call.arguments) != set(spec.param_names)
            info["error"] = "bad_arguments" if wrong_shape and res.error == "tool_error" else res.error
            info["error_kind"] = res.kind
        return res.observation

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self._last_obs
        return None

    def close(self) -> None:
        self._toolkit.close()
        super().close()
