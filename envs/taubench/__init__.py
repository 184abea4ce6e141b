"""τ-bench as Gymnasium environments, and SEER as a τ-bench agent.

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
- `agent.SeerTauAgent`: a `tau_bench.agents.base.Agent` (`solve(env, task_index, max_num_steps)`).
- `policy.SeerTauPolicy`: the same agent as a seer-env `Policy` for the Gymnasium runner.
- `runner.run_tau` and `seer-env taubench run`: SEER through τ-bench's own `run()`; τ-bench's results file.
- `intents`: τ-bench intents = the set of state-changing tools a conversation used.

Nothing here imports tau_bench (or litellm) at package import.
"""
