"""Policies: random, oracle, react, react-fewshot, few-shot, seer, seer-tau. All implement `seer_env.policy.Policy`.

`make_policy(name, **kwargs)` builds one by name; each policy's module is imported only when asked
for (LLM policies pull in litellm, SEER the pool).
"""

from __future__ import annotations

import importlib
from typing import Any

from seer_env.policy import Policy, SyncPolicy

# name -> (module, class); kwargs are passed to the class
POLICIES: dict[str, tuple[str, str]] = {
    "random": ("seer_env.agents.random", "RandomPolicy"),
    "oracle": ("seer_env.agents.oracle", "OraclePolicy"),
    "react": ("seer_env.agents.react", "ReactPolicy"),
    "react-fewshot": ("seer_env.agents.react", "ReactFewShotPolicy"),
    "fewshot": ("seer_env.agents.fewshot", "FewShotPolicy"),
    "fewshot-random": ("seer_env.agents.fewshot", "RandomFewShotPolicy"),
    "seer": ("seer_env.agents.seer", "SeerPolicy"),
    # SEER on τ-bench: function-calling transcripts as exemplars, tool-set intents
    "seer-tau": ("seer_env.agents.taubench.policy", "SeerTauPolicy"),
}

# policies that call an LLM (need --model) and those that read or write an experience pool
LLM_POLICIES = frozenset({"react", "react-fewshot", "fewshot", "fewshot-random", "seer", "seer-tau"})
POOL_POLICIES = frozenset({"fewshot-random", "seer", "seer-tau"})


def policy_class(name: str) -> type[Policy]:
    try:
        module, cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}") from None
    return getattr(importlib.import_module(module), cls)


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Build the policy called `name` (random, oracle, react, react-fewshot, fewshot, fewshot-random, seer,
    seer-tau)."""
    return policy_class(name)(**kwargs)


__all__ = ["LLM_POLICIES", "POLICIES", "POOL_POLICIES", "Policy", "SyncPolicy", "make_policy", "policy_class"]
