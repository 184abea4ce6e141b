"""Environments: `seer_env.envs.toolqa` and `seer_env.envs.taubench`."""
