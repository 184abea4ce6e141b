"""seer-env: tool-use benchmarks (ToolQA, τ-bench) as Gymnasium environments, and SEER as a policy.

Importing the package registers the environment IDs; it loads no env, model or heavy library.
"""

from seer_env.actions import ActionParseError, parse_action, parse_action_with_thought
from seer_env.registration import ENVS, register_envs
from seer_env.spaces import TextObservation, ToolCallSpace
from seer_env.types import Step, ToolCall, ToolSpec, Trajectory

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENVS",
    "ActionParseError",
    "Step",
    "TextObservation",
    "ToolCall",
    "ToolCallSpace",
    "ToolSpec",
    "Trajectory",
    "__version__",
    "parse_action",
    "parse_action_with_thought",
]
