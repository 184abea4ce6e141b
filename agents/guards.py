"""What keeps a `seer-env run` from failing for hours: the models checked before the first episode,
the circuit breaker and error replay options, and the exit codes.

The checks themselves are `seer_env.preflight` and `seer_env.breaker`; this module knows which models
a run names (the policies' model, τ-bench's simulated user, a judge) from its options.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from seer_env.preflight import DEFAULT_TIMEOUT, ModelTarget
from seer_env.runner import gym_id_of

EXIT_OK = 0
EXIT_ALL_ERRORED = 1
EXIT_USAGE = 2
EXIT_PREFLIGHT = 3
EXIT_STOPPED = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """exit codes:
  0    every planned episode is recorded (a policy's wrong answers are results, not errors)
  1    every episode played ended in an error (an LLM or harness failure; see `seer-env report`)
  2    bad options or configuration (unknown env, policy, task ids; missing data)
  3    a model the run names failed the preflight check (no episode was played)
  4    the circuit breaker stopped the run (the same error ended episode after episode)
  130  interrupted (Ctrl-C); finished episodes are saved
A run stopped early resumes where it stopped when the same command runs again; episodes that ended
in an error are played again (unless --no-retry-errors)."""

DEFAULT_MAX_CONSECUTIVE_ERRORS = 5
# τ-bench user strategies that call a model
LLM_USER_STRATEGIES = ("llm", "react", "verify", "reflection")
TAU_ENV_PREFIX = "TauBench-"


def add_guard_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("failing fast")
    g.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the check, before the first episode, that every model the run names has credentials, "
        "a reachable endpoint and answers one tiny call",
    )
    g.add_argument(
        "--preflight-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds the preflight waits for each model's tiny call",
    )
    g.add_argument(
        "--max-consecutive-errors",
        type=int,
        default=DEFAULT_MAX_CONSECUTIVE_ERRORS,
        help="stop the run when this many episodes in a row end in the same kind of error (0: never)",
    )
    g.add_argument(
        "--no-retry-errors",
        action="store_true",
        help="on resume, keep the recorded episodes that ended in an error instead of playing them again",
    )


def add_user_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("τ-bench's simulated user (TauBench-* envs)")
    g.add_argument(
        "--user-strategy",
        default=None,
        help="llm, react, verify, reflection (an LLM user), or scripted, replay (offline; data with "
        "--env-kwargs '{\"user_data\": ...}'); default: the env's, llm",
    )
    g.add_argument(
        "--user-model",
        default=None,
        help="the LLM user's model as a litellm name (e.g. openai/gpt-4o); default: the env's, gpt-4o via openai",
    )
    g.add_argument(
        "--user-api-base",
        default=None,
        help="OpenAI-compatible endpoint for the user's model, e.g. a local server (default: the provider's)",
    )
    g.add_argument(
        "--user-api-key", default=None, help="API key for the user's model (default: the provider's variable)"
    )


def user_env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The TauBench env kwargs the --user-* options set."""
    kw: dict[str, Any] = {}
    if getattr(args, "user_strategy", None):
        kw["user_strategy"] = args.user_strategy
    if getattr(args, "user_model", None):
        provider, model = split_provider(args.user_model)
        kw["user_model"] = model
        if provider:
            kw["user_provider"] = provider
    if getattr(args, "user_api_base", None):
        kw["user_api_base"] = args.user_api_base
    if getattr(args, "user_api_key", None):
        kw["user_api_key"] = args.user_api_key
    return kw


def split_provider(model: str) -> tuple[str | None, str]:
    """`provider/name` -> (provider, name) when `provider` is one litellm knows; else (None, model)."""
    head, _, rest = model.partition("/")
    if rest:
        import litellm

        if head in litellm.provider_list:
            return head, rest
    return None, model


def env_kwargs_for(env_kwargs: dict[str, Any] | None, env_id: str) -> dict[str, Any]:
    """An env label's kwargs as the runner picks them: by label, else by gym id, else `"*"`."""
    for key in (env_id, gym_id_of(env_id), "*"):
        if env_kwargs and key in env_kwargs:
            return dict(env_kwargs[key])
    return {}


def _tau_user_default(name: str) -> Any:
    import inspect

    from seer_env.envs.taubench.env import TauBenchEnv

    return inspect.signature(TauBenchEnv).parameters[name].default


def run_models(
    args: argparse.Namespace,
    entries: Sequence[Any],
    envs: Sequence[str],
    env_kwargs: dict[str, Any] | None,
    judge: Any = None,
) -> list[ModelTarget]:
    """Every model the run will call: the policies' (--model), τ-bench's LLM user per env, the judge's
    (an `LLMJudge`, on its own client)."""
    targets: list[ModelTarget] = []
    if any(getattr(e, "model", None) for e in entries) and getattr(args, "model", None):
        targets.append(
            ModelTarget(args.model, "policy", getattr(args, "api_base", None), getattr(args, "api_key", None))
        )
    for env_id in envs:
        if not gym_id_of(env_id).startswith(TAU_ENV_PREFIX):
            continue
        kw = env_kwargs_for(env_kwargs, env_id)
        strategy = str(kw.get("user_strategy") or _tau_user_default("user_strategy"))
        if strategy not in LLM_USER_STRATEGIES:
            continue
        model = str(kw.get("user_model") or _tau_user_default("user_model"))
        provider = kw.get("user_provider", _tau_user_default("user_provider"))
        name = model if not provider or model.startswith(f"{provider}/") else f"{provider}/{model}"
        targets.append(ModelTarget(name, "τ-bench user", kw.get("user_api_base"), kw.get("user_api_key")))
    client = getattr(judge, "client", None)
    if client is not None:
        targets.append(ModelTarget(client.model, "judge", client.api_base, client.api_key))
    return targets


def exit_code(counts: dict[str, Any]) -> int:
    """The exit code of a finished run's counts (see `EXIT_CODES_HELP`)."""
    if counts.get("stopped"):
        return EXIT_STOPPED
    if counts.get("done") and counts.get("errors", 0) >= counts["done"]:
        return EXIT_ALL_ERRORED
    return EXIT_OK


def finish(counts: dict[str, Any], out: Any, console: Any) -> int:
    """Say why a run stopped early or failed, and how to see and resume it; its exit code."""
    code = exit_code(counts)
    if counts.get("stopped"):
        console.print(f"[red]{counts['stopped']}[/red]", highlight=False)
    if code != EXIT_OK:
        console.print(
            f"see the errors with `seer-env report {out}` or `seer-env show {out} --errors`; run the same "
            "command again to resume (episodes that ended in an error are played again)",
            highlight=False,
        )
    return code
