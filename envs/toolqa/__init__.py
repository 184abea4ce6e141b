"""ToolQA as Gymnasium environments: corpus, the 13 tools, questions, scoring, the env.

Names are resolved lazily, so `import seer_env.envs.toolqa` stays cheap (no pandas, torch or faiss).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seer_env.lazy import lazy_exports

if TYPE_CHECKING:
    from seer_env.envs.toolqa.env import ToolQAEnv  # noqa: F401
    from seer_env.envs.toolqa.questions import Question, load_questions  # noqa: F401
    from seer_env.envs.toolqa.scoring import score_answer  # noqa: F401
    from seer_env.envs.toolqa.tools import TOOL_SPECS  # noqa: F401

_EXPORTS = {
    "ToolQAEnv": "seer_env.envs.toolqa.env",
    "Question": "seer_env.envs.toolqa.questions",
    "load_questions": "seer_env.envs.toolqa.questions",
    "save_questions": "seer_env.envs.toolqa.questions",
    "DOMAINS": "seer_env.envs.toolqa.domains",
    "TOOL_SPECS": "seer_env.envs.toolqa.tools",
    "ToolQAToolkit": "seer_env.envs.toolqa.tools",
    "score_answer": "seer_env.envs.toolqa.scoring",
    "normalize_answer": "seer_env.envs.toolqa.scoring",
    "generate_corpus": "seer_env.envs.toolqa.synth_corpus",
    "generate_questions": "seer_env.envs.toolqa.synth_questions",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(globals(), _EXPORTS)
