"""τ-bench (retail, airline) as a Gymnasium environment over `tau_bench.envs.get_env`.

One action is one `ToolCall`: a domain tool, or `respond` whose `content` goes to the simulated user.
The observation is the tool's output or the user's reply; the reward is τ-bench's own (1.0 or 0.0),
given once, at the step that ends the episode.

How the known τ-bench pitfalls are handled:

- the task is drawn from this env's seeded generator (`reset(seed=...)`, or `options={"task_id": ...}`)
  and passed to τ-bench explicitly, never left to its off-by-one `random.randint` draw;
- the τ-bench `Env` is built once (with `task_index=0`) and `reset` per episode, so an LLM user costs
  no extra constructor calls;
- termination is latched: after the ending step `step` raises until `reset` (τ-bench has no guard and
  would re-score the ground-truth state as 1.0);
- `max_steps` truncates with reward 0 (τ-bench never truncates);
- tool arguments are deep-copied before τ-bench sees them (some tools store them by reference);
- a tool that crashes outside τ-bench's try block (a None result fails pydantic), a `respond` with no or
  None `content`, unparsable actions and unknown tools all become error observations, never exceptions
  (only a failing user simulator raises, `UserSimulatorError`, and ends the episode);
- the reward breakdown (`r_actions` from the data-hash match, which τ-bench drops for output tasks, and
  `r_outputs`/`outputs`) is in the last step's info.

Actions are hostile input (docs/tool_limits.md): the action parser bounds their size; an error
observation (a tool's `Error: ...`, `Unknown action ...`) is cut at `_MAX_ERROR_CHARS`, so no
argument is echoed back at length; every observation is cut at `max_output_bytes` of UTF-8; and
`calculate`, which τ-bench answers with Python's `eval` of digits and operators, refuses an
expression whose result would be too large to compute (`9**9**9` would hold the env for minutes).

`user_strategy` takes τ-bench's strategies (llm, react, verify, reflection, human) and the offline
ones of `seer_env.envs.taubench.users` (scripted, replay; their data comes from `user_data`). The
default is τ-bench's: an LLM user (`gpt-4o` via `openai`), which calls its model once when the env is
built and at every `reset` and `respond`; `user_api_base` (and `user_api_key`) send those calls to
another endpoint, e.g. a local server (`users.set_user_endpoint`). Pass `user_strategy="scripted"` to
play offline; the offline users know which task they play by its index (`users.bind_user`).
"""

from __future__ import annotations

import ast
import copy
import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from seer_env.actions import ActionParseError, parse_action
from seer_env.envs.taubench._compat import require_tau_bench
from seer_env.envs.taubench.intents import intent_examples, intent_of, state_changing_tools
from seer_env.envs.taubench.users import (
    OFFLINE_STRATEGIES,
    ScriptedUser,
    bind_user,
    offline_factory,
    set_user_endpoint,
    user_override,
)
from seer_env.spaces import TextObservation, ToolCallSpace
from seer_env.types import ToolCall, ToolSpec

log = logging.getLogger(__name__)

RESPOND = "respond"
RESPOND_SPEC = ToolSpec(
    name=RESPOND,
    description="Send a message to the user. This is the only way to talk to the user; the user's reply "
    "is the next observation.",
    parameters={
        "type": "object",
        "properties": {"content": {"type": "string", "description": "the message to the user"}},
        "required": ["content"],
    },
)
_SUCCESS_EPS = 1e-6
_MAX_ERROR_CHARS = 500
MAX_OUTPUT_BYTES = 1 << 20  # default cap on one observation (UTF-8 bytes)
CUT_NOTICE = "...[too long, cannot be fully displayed]"
CALCULATE_MAX_BITS = 1 << 20  # largest intermediate result `calculate` may compute (about 315,000 digits)


class UserSimulatorError(RuntimeError):
    """The simulated user failed (an LLM error, a replay miss with `on_miss="error"`): not the agent's doing."""


def _arg_problem(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    names = set(spec.param_names)
    missing = [n for n in spec.required if n not in arguments]
    extra = [n for n in arguments if n not in names]
    if missing or extra:
        return f"missing {missing}, unexpected {extra}"
    return None


def _bits_bound(tree: ast.AST) -> float | None:
    """An upper bound on log2(|value| + 1) of an arithmetic expression, or None when it is not plain
    arithmetic on numbers (τ-bench refuses those itself). Iterative: nesting depth costs no stack."""
    bound: dict[int, float] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body if isinstance(tree, ast.Expression) else tree, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                return None
            v = node.value
            bound[id(node)] = math.log2(abs(v) + 1) if isinstance(v, int) or math.isfinite(v) else 1024.0
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            if not children_done:
                stack += [(node, True), (node.operand, False)]
            else:
                bound[id(node)] = bound[id(node.operand)]
        elif isinstance(node, ast.BinOp):
            if not children_done:
                stack += [(node, True), (node.left, False), (node.right, False)]
                continue
            a, b = bound[id(node.left)], bound[id(node.right)]
            if isinstance(node.op, (ast.Add, ast.Sub)):
                bound[id(node)] = max(a, b) + 1
            elif isinstance(node.op, ast.Mult):
                bound[id(node)] = a + b
            elif isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
                bound[id(node)] = max(a, 1024.0)  # a true quotient is a float; floor keeps the size of a
            elif isinstance(node.op, ast.Pow):
                # |x ** y| < 2 ** (a * 2 ** b); a base of at most 1 in size stays small (or overflows a float)
                bound[id(node)] = 1024.0 if a <= 1.0 else a * 2.0 ** min(b, 64.0)
            else:
                return None
        else:
            return None
    return bound[id(tree.body if isinstance(tree, ast.Expression) else tree)]


def calculate_too_large(expression: str) -> bool:
    """Whether `calculate(expression)` would compute a number of more than `CALCULATE_MAX_BITS` bits."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False  # τ-bench's eval fails on it the same way, at once
    bits = _bits_bound(tree)
    return bits is not None and bits > CALCULATE_MAX_BITS


def _cut(text: str, max_bytes: int) -> str:
    """`text` cut to `max_bytes` of UTF-8 (on a character boundary), followed by `CUT_NOTICE`."""
    if len(text) <= max_bytes // 4 or len(text.encode("utf-8", "surrogatepass")) <= max_bytes:
        return text
    head = text.encode("utf-8", "surrogatepass")[:max_bytes].decode("utf-8", "ignore")
    return head + CUT_NOTICE


class TauBenchEnv(gym.Env):
    """A τ-bench domain as a Gymnasium env (IDs `TauBench-retail-v0`, `TauBench-airline-v0`)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        env_name: str = "retail",
        task_split: str = "test",
        user_strategy: str = "llm",
        user_model: str = "gpt-4o",
        user_provider: str | None = "openai",
        max_steps: int = 30,
        user_data: Any = None,
        task_ids: Sequence[int | str] | None = None,
        write_tools: Sequence[str] | None = None,
        render_mode: str | None = None,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
        user_api_base: str | None = None,
        user_api_key: str | None = None,
    ):
        super().__init__()
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.env_name = env_name
        self.task_split = task_split
        self.user_strategy = str(getattr(user_strategy, "value", user_strategy))
        self.user_model = user_model
        self.user_provider = user_provider
        self.user_api_base = user_api_base
        self.user_api_key = user_api_key
        self.max_steps = int(max_steps)
        self.user_data = user_data
        self.render_mode = render_mode
        self.max_output_bytes = int(max_output_bytes)
        self._wanted_ids = None if task_ids is None else [str(t) for t in task_ids]
        self._tau: Any = None
        self._hashes: list[str] = []
        self._build()

        infos = list(self._tau.tools_info)
        self.tool_specs: list[ToolSpec] = [ToolSpec.from_openai(i) for i in infos] + [RESPOND_SPEC]
        self._tool_map = {s.name: s for s in self.tool_specs}
        names = [s.name for s in self.tool_specs]
        self.write_tools: list[str] = state_changing_tools(names, write_tools)
        # what generic policies learn about this env (in every reset info too): pool namespace, intents
        self.env_info: dict[str, Any] = {
            "pool_namespace": f"taubench-{env_name}",
            "intent_labels": list(self.write_tools),
            "intent_examples": intent_examples(self.write_tools),
            "task_split": self.task_split,
            "reply_tool": RESPOND,
            "instructions": self._tau.wiki,  # the domain's policy: every agent's standing instructions
        }
        all_ids = [str(i) for i in range(len(self._tau.tasks))]
        if self._wanted_ids is None:
            self.task_ids: list[str] = all_ids
        else:
            unknown = sorted(set(self._wanted_ids) - set(all_ids))
            if unknown:
                raise ValueError(f"unknown task ids for {env_name}/{task_split}: {unknown}")
            self.task_ids = list(self._wanted_ids)
        self.action_space = ToolCallSpace(self.tool_specs)
        self.observation_space = TextObservation()
        self._over = True
        self._started = False
        self._steps = 0
        self._task_id: str | None = None
        self._transcript: list[tuple[str, str]] = []
        self._answer: str | None = None

    # -- τ-bench env ---------------------------------------------------------------------------

    def _build(self) -> None:
        envs_mod = require_tau_bench("tau_bench.envs")
        factory = None
        if self.user_strategy in OFFLINE_STRATEGIES:
            factory = offline_factory(self.user_data)
        elif self.user_api_base:  # before get_env: τ-bench's LLM user calls its model when it is built
            set_user_endpoint(self.user_model, self.user_provider, self.user_api_base, self.user_api_key)
        with user_override(factory):
            # an explicit task_index skips τ-bench's off-by-one draw in the constructor
            tau = envs_mod.get_env(
                self.env_name,
                user_strategy=self.user_strategy,
                user_model=self.user_model,
                task_split=self.task_split,
                user_provider=self.user_provider,
                task_index=0,
            )
        if isinstance(tau.user, ScriptedUser):
            tau.user.bind_tasks(tau.tasks)
        bind_user(tau)
        # record the two hashes calculate_reward takes (agent's state, then the ground truth's), so
        # the data-hash verdict is known even for output tasks, whose RewardResult drops it
        original = tau.get_data_hash

        def get_data_hash() -> str:
            h = original()
            self._hashes.append(h)
            return h

        tau.get_data_hash = get_data_hash
        self._tau = tau

    @property
    def tau_env(self) -> Any:
        """The wrapped `tau_bench.envs.base.Env`."""
        if self._tau is None:
            self._build()
        return self._tau

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_tau"] = None  # rebuilt on first use; a live episode does not travel
        state["_over"] = True
        state["_started"] = False
        return state

    # -- Gymnasium API ----------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        tau = self.tau_env
        if options.get("task_id") is not None:
            task_id = str(options["task_id"])
            if task_id not in self.task_ids:
                raise ValueError(f"unknown task_id {task_id!r} (this env plays {len(self.task_ids)} tasks)")
        else:
            task_id = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        res = tau.reset(task_index=int(task_id))
        task = tau.task
        self._task_id = task_id
        self._steps = 0
        self._over = False
        self._started = True
        self._answer = None
        observation = str(res.observation)
        self._transcript = [("user", observation)]
        info: dict[str, Any] = {
            **self.env_info,
            "intent_labels": list(self.write_tools),  # a fresh list: infos never share an object
            "tools": [s.openai() for s in self.tool_specs],
            "task_id": task_id,
            "domain": self.env_name,
            "query": observation,
            "policy": tau.wiki,
            "task_split": self.task_split,
        }
        if options.get("reveal_gold"):
            info["gold"] = self._gold(task)
        return observation, info

    def _gold(self, task: Any) -> dict[str, Any]:
        actions = [ToolCall(a.name, copy.deepcopy(dict(a.kwargs))) for a in task.actions]
        outputs = list(task.outputs)
        chain = list(actions)
        terminate = set(getattr(self._tau, "terminate_tools", []))
        if not chain or chain[-1].name not in terminate:
            # close the conversation: the user stops once its goal is met
            chain.append(ToolCall(RESPOND, {"content": " ".join(outputs) or "Is there anything else?"}))
        return {
            "answer": ", ".join(outputs) if outputs else None,
            "outputs": outputs,
            "chain": [c.to_dict() for c in chain],
            "intent": intent_of((a.name for a in actions), self.write_tools),
            "user_id": task.user_id,
            "instruction": task.instruction,
        }

    def step(self, action: Any):
        if self._over:
            raise RuntimeError("episode is over; call reset()")
        self._steps += 1
        info: dict[str, Any] = {"tool": None, "ok": False, "error": None}
        try:
            call = parse_action(action, self._tool_map)
        except ActionParseError as exc:
            info["error"] = "parse"
            return self._finish_step(f"Error: {exc}", 0.0, False, info)
        info["tool"] = call.name
        try:
            kwargs = copy.deepcopy(dict(call.arguments))
        except Exception:  # arguments that cannot be copied cannot be valid JSON arguments either
            info["error"] = "bad_arguments"
            return self._finish_step("Error: the arguments could not be copied", 0.0, False, info)

        spec = self._tool_map.get(call.name)
        bad_args = None
        if call.name == RESPOND:
            content = kwargs.get("content")
            if content is None or (isinstance(content, str) and not content.strip()):
                info["error"] = "bad_arguments"
                return self._finish_step(
                    "Error: respond needs a non-empty 'content' (the message to the user)", 0.0, False, info
                )
            if not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False, default=str)
            kwargs = {"content": content}
        elif spec is not None:
            bad_args = _arg_problem(spec, kwargs)
            expression = kwargs.get("expression")
            if call.name == "calculate" and isinstance(expression, str) and calculate_too_large(expression):
                info["error"] = "tool_error"
                return self._finish_step(
                    "Error: the result of this expression is too large to compute", 0.0, False, info
                )

        types = require_tau_bench("tau_bench.types")
        self._hashes = []
        try:
            resp = self._tau.step(types.Action(name=call.name, kwargs=kwargs))
        except Exception as exc:
            if call.name == RESPOND:
                # the content is a valid string, so this is the user simulator (or its LLM) failing,
                # not a bad action: end the episode and let the runner record the error
                self._over = True
                raise UserSimulatorError(
                    f"the τ-bench user simulator failed: {type(exc).__name__}: {exc}"
                ) from exc
            log.debug("tau_bench step raised", exc_info=True)
            msg = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]
            info["error"] = "bad_arguments" if bad_args else "tool_error"
            return self._finish_step(f"Error: {msg}", 0.0, False, info)

        observation = str(resp.observation)
        if call.name != RESPOND and (spec is None or observation.startswith("Error")):
            observation = _cut(observation, _MAX_ERROR_CHARS)  # errors may quote the arguments
        observation = _cut(observation, self.max_output_bytes)
        if call.name == RESPOND:
            self._answer = kwargs["content"]
            self._transcript.append(("agent", kwargs["content"]))
            self._transcript.append(("user", observation))
            info["ok"] = True
        elif spec is None:
            info["error"] = "unknown_tool"
        elif observation.startswith("Error"):
            info["error"] = "bad_arguments" if bad_args else "tool_error"
        else:
            info["ok"] = True
        if call.name != RESPOND:
            self._transcript.append((f"tool {call.name}", observation))
        info["source"] = resp.info.source
        if resp.done:
            reward = float(resp.reward)
            info["reward_info"] = resp.info.reward_info.model_dump() if resp.info.reward_info else None
            info["reward_breakdown"] = self._breakdown(reward, resp.info.reward_info)
            info["user_cost"] = resp.info.user_cost
            return self._finish_step(observation, reward, True, info)
        return self._finish_step(observation, 0.0, False, info)

    def _breakdown(self, reward: float, reward_info: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reward": reward,
            "r_actions": None,
            "r_outputs": None,
            "outputs": None,
            "data_hash": None,
            "gt_data_hash": None,
        }
        if len(self._hashes) >= 2:
            out["data_hash"], out["gt_data_hash"] = self._hashes[0], self._hashes[-1]
            out["r_actions"] = self._hashes[0] == self._hashes[-1]
        detail = getattr(reward_info, "info", None)
        if detail is not None and hasattr(detail, "r_outputs"):
            out["r_outputs"] = float(detail.r_outputs)
            out["outputs"] = dict(detail.outputs)
        elif detail is not None and hasattr(detail, "r_actions"):
            out["r_actions"] = bool(detail.r_actions)
            out["gt_data_hash"] = detail.gt_data_hash
        return out

    def _finish_step(self, observation: str, reward: float, terminated: bool, info: dict[str, Any]):
        truncated = False
        if not terminated and self._steps >= self.max_steps:
            truncated = True
            reward = 0.0
        if terminated or truncated:
            self._over = True
            info["answer"] = self._answer
            info["success"] = bool(terminated and abs(reward - 1.0) <= _SUCCESS_EPS)
            info["num_steps"] = self._steps
            if truncated:
                info["truncated_at"] = self.max_steps
        return observation, float(reward), terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return "\n".join(f"{who}: {text}" for who, text in self._transcript)

    def task_gold(self, task_id: str) -> dict[str, Any]:
        """What a task expects, for the runner's record (policies never see it): the outputs the
        user must be told and the gold actions."""
        task = self.tau_env.tasks[int(task_id)]
        outputs = list(task.outputs)
        return {
            "answer": ", ".join(outputs) if outputs else None,
            "outputs": outputs,
            "actions": [{"name": a.name, "arguments": dict(a.kwargs)} for a in task.actions],
        }

    @property
    def task(self) -> Any:
        """The current τ-bench `Task` (ground truth included)."""
        return self.tau_env.task

    def close(self) -> None:
        self._tau = None
        super().close()
