"""SEER for τ-bench: an agent that uses the τ-bench envs (`seer_env.envs.taubench`) and the pool.

- `agent.SeerTauAgent`: a `tau_bench.agents.base.Agent` (`solve(env, task_index, max_num_steps)`).
- `policy.SeerTauPolicy`: the same agent as a seer-env `Policy` for the Gymnasium runner
  (`seer-env run --policy seer-tau`).
- `runner.run_tau` and `seer-env taubench run` (`cli`): SEER through τ-bench's own `run()`; τ-bench's
  results file.

Nothing here imports tau_bench (or litellm) at package import.
"""
