"""Answer scoring: ToolQA exact match (its normalised EM), a numeric-tolerant option, an LLM-judge hook.

`verdicts` scores one answer the way the env reports it: exact match always, and the judge's verdict
when the scorer is a judge (`seer_env.judge.LLMJudge` is one), so a record keeps both.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable
from typing import Any

Judge = Callable[[str, Any, Any], bool]  # (question, gold, pred) -> correct

_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the|usd)\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def normalize_answer(s: Any) -> str:
    """ToolQA's normalisation: lower-case, drop punctuation, drop a/an/the/usd, collapse spaces."""
    s = str(s).lower().translate(_PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(pred: Any, gold: Any) -> bool:
    return normalize_answer(pred) == normalize_answer(gold)


def _only_number(s: Any) -> float | None:
    """The number in an answer that is one number plus at most a unit or currency sign."""
    text = str(s).strip()
    nums = _NUMBER.findall(text)
    if len(nums) != 1:
        return None
    rest = text.replace(nums[0], " ", 1).lower()
    rest = re.sub(r"[$%\s]|usd|minutes?|miles?|days?|hours?|nights?", "", rest)
    if rest:
        return None
    try:
        return float(nums[0].replace(",", ""))
    except ValueError:
        return None


def numeric_match(pred: Any, gold: Any, rel_tol: float = 1e-3, abs_tol: float = 1e-6) -> bool:
    """Exact match, or both answers are one number (units and signs aside) that agree within tolerance."""
    if exact_match(pred, gold):
        return True
    a, b = _only_number(pred), _only_number(gold)
    if a is None or b is None:
        return False
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def score_answer(
    pred: Any, gold: Any, mode: str | Judge = "em", question: str = "", judge: Judge | None = None
) -> bool:
    """Whether `pred` answers correctly. mode: "em" (ToolQA), "numeric", "judge" or a judge callable."""
    if pred is None:
        return False
    if callable(mode):
        judge, mode = mode, "judge"
    if mode == "em":
        return exact_match(pred, gold)
    if mode == "numeric":
        return numeric_match(pred, gold)
    if mode == "judge":
        if judge is None:
            raise ValueError("mode='judge' needs judge=callable(question, gold, pred) -> bool")
        try:
            return bool(judge(question, gold, pred))
        except Exception:  # a failing judge counts the answer wrong, as SEER does on API errors
            return False
    raise ValueError(f"unknown scoring mode {mode!r}; use 'em', 'numeric', 'judge' or a callable")


def verdicts(
    pred: Any, gold: Any, mode: str | Judge = "em", question: str = "", judge: Judge | None = None
) -> tuple[bool, dict[str, Any]]:
    """Whether `pred` is correct under `mode`, and every verdict taken: `{"scorer", "em", "judge",
    "judge_reason", "judge_error"}` (`numeric` too under that mode; the judge keys under a judge).

    A judge that raises, or returns a verdict with an `error`, counts the answer wrong; the error is
    kept in `judge_error`.
    """
    if callable(mode):
        judge, mode = mode, "judge"
    em = pred is not None and exact_match(pred, gold)
    out: dict[str, Any] = {"scorer": mode, "em": em}
    if mode == "em":
        return em, out
    if mode == "numeric":
        out["numeric"] = pred is not None and numeric_match(pred, gold)
        return out["numeric"], out
    if mode != "judge":
        raise ValueError(f"unknown scoring mode {mode!r}; use 'em', 'numeric', 'judge' or a callable")
    if judge is None:
        raise ValueError("mode='judge' needs judge=callable(question, gold, pred) -> bool")
    reason, error = None, None
    if pred is None:
        correct = False
    else:
        try:
            v = judge(question, gold, pred)
            correct = bool(v)
            reason, error = getattr(v, "reason", None), getattr(v, "error", None)
        except Exception as exc:  # a failing judge counts the answer wrong, as SEER does on API errors
            correct, error = False, f"{type(exc).__name__}: {exc}"[:500]
    out.update(judge=correct, judge_reason=reason, judge_error=error)
    return correct, out
