"""A fake of the `tau_bench` package (sierra-research/tau-bench, v1, commit 59a200c), for seer-env's tests.

tau-bench is not on PyPI and cannot be installed in the test environment, so this package stands in
for it. It follows upstream's public API at that commit, known quirks included:

- the same module paths and names (`tau_bench.types`, `tau_bench.envs.get_env`, `tau_bench.envs.base.Env`,
  `tau_bench.envs.tool.Tool`, `tau_bench.envs.user.{UserStrategy, load_user, BaseUserSimulationEnv, ...}`,
  `tau_bench.agents.base.Agent`, `tau_bench.agents.tool_calling_agent.{ToolCallingAgent, message_to_action}`,
  `tau_bench.run.{run, agent_factory, display_metrics}`, retail's `TASKS_TEST/TASKS_TRAIN/TASKS_DEV`,
  airline's `TASKS`);
- pydantic v2 models with the same fields, defaults and extra-ignore;
- `Env` semantics: data reload on reset, "Error: ..." on a tool exception, "Unknown action ...",
  the `###STOP###` substring test, terminal-only reward with `user_cost` and `reward_info`, the reward
  (data hash of the agent's state against a ground-truth replay, then required outputs), the state left
  after reward, the off-by-one `random.randint(0, len(tasks))` task draw, no done guard;
- the import side effect: importing any `tau_bench` module imports litellm (through `envs.user`).

What differs: the domains are toys. "retail" and "airline" keep their real tool names and semantics for
the few tools they have, but hold a handful of users, orders and reservations and a few tasks (retail:
test/train/dev, airline: test only). The ReAct and few-shot agents are not faked (`agent_factory` raises
NotImplementedError for them), and user-simulator prompts are paraphrased.
"""

from tau_bench.agents.base import Agent
from tau_bench.envs.base import Env

__all__ = ["Agent", "Env"]
