"""Text forms of steps and experiences, in the SEER reference's exemplar format.

A stored trace reads

    Question: <question>
    Step 1: <thought> <CALL_BEGIN>Tool[args]<CALL_END>
    Result 1: <observation>
    ...

Outputs of the tools named in `omit_results_of` (the env's retrieval tools, `EnvInfo.retrieval_tools`)
are replaced by `Omitted_Retrieve_Results`, as in the traces the reference stores, and other results
are cut at 2048 characters, as its scratchpad does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from seer_env.types import Step

OMITTED = "Omitted_Retrieve_Results"
MAX_RESULT_CHARS = 2048


def render_call(step: Step) -> str:
    return f"<CALL_BEGIN>{step.action.text()}<CALL_END>"


def render_step(i: int, step: Step) -> str:
    """`Step i: <thought> <CALL_BEGIN>Tool[args]<CALL_END>` (no thought: `Step i: <CALL_BEGIN>...`)."""
    thought = (step.thought or "").strip()
    return f"Step {i}: {thought} {render_call(step)}" if thought else f"Step {i}: {render_call(step)}"


def render_steps(steps: Sequence[Step]) -> str:
    """The process-strategy text: the rendered steps joined by newlines ("" before the first step)."""
    return "\n".join(render_step(i, s) for i, s in enumerate(steps, 1))


def render_result(
    step: Step, omit_results_of: Collection[str] = (), max_chars: int | None = MAX_RESULT_CHARS
) -> str:
    """A step's result as an exemplar shows it: omitted for the given tools, else cut at `max_chars`."""
    if step.action.name in omit_results_of:
        return OMITTED
    text = str(step.observation)
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars]
    return text


def render_experience(
    exp_or_traj, omit_results_of: Collection[str] = (), max_result_chars: int | None = MAX_RESULT_CHARS
) -> str:
    """A full solved trace: `Question: ...`, then `Step i: ...` / `Result i: ...` for every step.

    Accepts an `Experience` or a `Trajectory` (anything with `query` and `steps`).
    """
    lines = [f"Question: {exp_or_traj.query}"]
    for i, step in enumerate(exp_or_traj.steps, 1):
        lines.append(render_step(i, step))
        lines.append(f"Result {i}: {render_result(step, omit_results_of, max_result_chars)}")
    return "\n".join(lines)


def render_exemplars(items: Iterable, omit_results_of: Collection[str] = ()) -> str:
    """SEER's exemplar block: the full traces, each followed by a blank line.

    Items may be `Recalled`, `Experience` or `Trajectory` objects.
    """
    texts = [render_experience(getattr(it, "experience", it), omit_results_of) for it in items]
    return "".join(t + "\n\n" for t in texts)
