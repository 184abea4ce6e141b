"""Policies: random, oracle, react, few-shot, seer. All implement `seer_env.agents.base.Policy`."""

from seer_env.agents.base import Policy, SyncPolicy

__all__ = ["Policy", "SyncPolicy"]
