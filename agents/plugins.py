"""Policies from outside seer-env: `--policy package.module:ClassName`, or by the name an installed
package declares in the entry-point group `seer_env.policies`.

A package declares its policies in its own pyproject.toml::

    [project.entry-points."seer_env.policies"]
    echo = "my_package.policies:EchoPolicy"

and `seer-env run --policy echo` plays it. A policy class subclasses `seer_env.policy.Policy` (only the
async `act` is required). The runner builds one instance per concurrent episode with the keyword
arguments its `__init__` accepts among: `client` (the run's `LLMClient`, from --model and --api-base;
the policy then counts as an LLM policy and needs --model), `seed`, `max_steps`, and the keys of
`--policy-kwargs`. Built-in names come first, then entry points, then `module:Class`.
"""

from __future__ import annotations

import importlib
import inspect
from importlib import metadata
from typing import Any

from seer_env.agents import POLICIES, policy_class
from seer_env.policy import Policy

ENTRY_POINT_GROUP = "seer_env.policies"


class PolicyNotFound(ValueError):
    """The name is no built-in policy, no installed entry point and no importable `module:Class`."""


def installed_policies() -> dict[str, str]:
    """Entry points of the `seer_env.policies` group: name -> `module:Class`."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _load_target(target: str, name: str) -> type:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise PolicyNotFound(f"policy {name!r}: {target!r} is not of the form package.module:ClassName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PolicyNotFound(f"policy {name!r}: cannot import {module_name!r} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise PolicyNotFound(f"policy {name!r}: {module_name!r} has no {attr!r}")
    if not (inspect.isclass(obj) and issubclass(obj, Policy)):
        raise PolicyNotFound(f"policy {name!r}: {target} is not a subclass of seer_env.policy.Policy")
    return obj


def resolve_policy(name: str) -> type[Policy]:
    """The policy class called `name`: built-in, entry point, or `module:Class` (see the module docstring)."""
    if name in POLICIES:
        return policy_class(name)
    eps = installed_policies()
    if name in eps:
        return _load_target(eps[name], name)
    if ":" in name:
        return _load_target(name, name)
    known = ", ".join([*POLICIES, *eps])
    raise PolicyNotFound(
        f"unknown policy {name!r}; known: {known}; or give your own as package.module:ClassName"
    )


def constructor_kwargs(cls: type, available: dict[str, Any]) -> dict[str, Any]:
    """The entries of `available` that `cls.__init__` accepts (all of them when it takes **kwargs)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(available)
    return {k: v for k, v in available.items() if k in params}


def takes_client(cls: type) -> bool:
    """Whether a plug-in policy wants the run's LLM client (its `__init__` has a `client` parameter)."""
    try:
        return "client" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
