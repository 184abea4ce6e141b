"""τ-bench as Gymnasium environments.

Install τ-bench (not on PyPI) with the extra, or directly from git::

    pip install "seer-env[taubench]"
    pip install "tau_bench @ git+https://github.com/sierra-research/tau-bench"

Without it `import seer_env` works and only these modules' features are unavailable: making a
`TauBench-*` env raises `TauBenchNotInstalled` (an ImportError) naming that command.

- `env.TauBenchEnv` (IDs `TauBench-retail-v0`, `TauBench-airline-v0`): kwargs `task_split`,
  `user_strategy`, `user_model`, `user_provider`, `max_steps`, `user_data`, `task_ids`, `write_tools`::

      env = gym.make("TauBench-retail-v0", user_strategy="scripted")   # offline, no keys
      env = gym.make("TauBench-airline-v0", user_model="gpt-4o", user_provider="openai")  # τ-bench's LLM user

- `users`: offline user simulators `scripted` and `replay`, and `user_override`, which lets τ-bench's
  `load_user` build them without modifying τ-bench.
- `intents`: τ-bench intents = the set of state-changing tools a conversation used.

SEER for τ-bench (its `Agent`, its `Policy`, τ-bench's own runner and `seer-env taubench run`) is an
agent: `seer_env.agents.taubench`. Nothing here imports tau_bench (or litellm) at package import.
"""

from seer_env.envs.taubench._compat import TauBenchNotInstalled, require_tau_bench, tau_bench_available

__all__ = ["TauBenchNotInstalled", "require_tau_bench", "tau_bench_available"]
