"""Prompt text of the LLM policies, written for seer-env from the SEER method's description.

Structure of the SEER solver prompt (one user message, as the reference sends it): what to do and the
call format, the tools, the trace format, the exemplars between "Here are some examples:" and
"(END OF EXAMPLES)", then the question and the scratchpad (hint line, then `Step n: ...` /
`Result n: ...`). The classifier prompt lists the env's intent labels and asks for one label in
square brackets at the end; the last bracketed label is taken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from seer_env.types import ToolSpec, tool_specs_from_schemas

CALL_BEGIN = "<CALL_BEGIN>"
CALL_END = "<CALL_END>"
END_OF_EXAMPLES = "(END OF EXAMPLES)"
EXAMPLES_HEADER = "Here are some examples:"
CLASSIFY_MARKER = "Reply with exactly one label"


def tool_specs_from_info(info: dict[str, Any]) -> list[ToolSpec]:
    """The env's tools as `ToolSpec`s, from the OpenAI schemas in reset info."""
    return tool_specs_from_schemas(info.get("tools"))


# the tool list of a prompt, by the identity of the env's tool specs (the same objects every step);
# the specs are kept in the value so their ids stay theirs
_TOOLS_BLOCKS: dict[tuple[int, ...], tuple[tuple[ToolSpec, ...], str]] = {}


def tools_block(tools: Sequence[ToolSpec]) -> str:
    key = tuple(map(id, tools))
    hit = _TOOLS_BLOCKS.get(key)
    if hit is not None:
        return hit[1]
    lines = []
    for i, t in enumerate(tools, 1):
        desc = " ".join((t.description or "").split())
        lines.append(f"({i}) {t.signature()}: {desc}")
    text = "\n".join(lines)
    if len(_TOOLS_BLOCKS) >= 256:
        _TOOLS_BLOCKS.clear()
    _TOOLS_BLOCKS[key] = (tuple(tools), text)
    return text


def intent_hint(intent: str | None, hints: dict[str, str] | None = None) -> str:
    """The hint line of an intent (the env's `intent_hints`), or "Hint: None"."""
    if intent and hints and intent in hints:
        return hints[intent]
    return "Hint: None"


def classify_prompt(
    query: str,
    labels: Sequence[str],
    descriptions: dict[str, str] | None = None,
    examples: Sequence[dict[str, Any]] | None = None,
) -> str:
    """The intent classifier's prompt; `descriptions` (the env's `intent_descriptions`) say what each
    label covers, `examples` (the env's `intent_examples`: `query`, `thought`, `label`) are worked
    cases shown before the question (those whose label is not among `labels` are left out)."""
    descriptions = descriptions or {}
    label_lines = "\n".join(
        f"[{label}]: {descriptions[label]}" if label in descriptions else f"[{label}]" for label in labels
    )
    example = labels[0] if labels else "label"
    shots = [e for e in (examples or ()) if e.get("label") in labels and e.get("query")]
    worked = ""
    if shots:
        worked = (
            "Worked examples:\n\n"
            + "\n\n".join(
                f"Question: {e['query']}\nThoughts: {(e.get('thought') or '').strip()} [{e['label']}]"
                for e in shots
            )
            + "\n\n"
        )
    return (
        "Sort the question below into the kind of task it is, so that the right tools and worked "
        "examples can be chosen for it.\n\n"
        f"The kinds of task:\n{label_lines}\n\n"
        f"Think in one or two sentences about what the question asks and where its answer would be "
        f"found. {CLASSIFY_MARKER}, in square brackets, as the last thing you write, e.g. [{example}].\n\n"
        f"{worked}Question: {query}\nThoughts:"
    )


_LABEL = re.compile(r"\[([^\[\]]+)\]")


def parse_intent(text: str, labels: Sequence[str]) -> str | None:
    """The last `[label]` in the reply that is one of `labels` (exact, then case-insensitive)."""
    found = _LABEL.findall(text or "")
    for cand in reversed(found):
        cand = cand.strip()
        if cand in labels:
            return cand
    lower = {label.lower(): label for label in labels}
    for cand in reversed(found):
        if cand.strip().lower() in lower:
            return lower[cand.strip().lower()]
    return None


def solver_prompt(
    *,
    tools: Sequence[ToolSpec],
    exemplars: Sequence[str],
    question: str,
    scratchpad: str,
    action_format: str = "text",
) -> str:
    """The SEER / few-shot solver prompt: one user message."""
    if action_format == "tools":
        call_rule = (
            "Call exactly one of the tools through function calling. You may write a short thought "
            "before the call."
        )
    else:
        call_rule = (
            f"Write a short thought, then exactly one tool call as {CALL_BEGIN}TOOL[PARAMETERS]{CALL_END}, "
            "and stop there: the result of the call will be given to you."
        )
    parts = [
        "You solve questions step by step with tools. At each step choose the one tool call that "
        f"brings you closest to the answer, with its parameters. {call_rule} When you know the answer, "
        "call Finish with it.",
        "",
        "Tools:",
        tools_block(tools),
        "(END OF TOOLS)",
        "",
        "A solution is written as:",
        "Question: the question",
        "Hint: which tools fit the question",
        f"Step 1: a thought {CALL_BEGIN}TOOL[PARAMETERS]{CALL_END}",
        "Result 1: what the tool returned",
        "... (more steps and results)",
        f"Step n: a thought {CALL_BEGIN}Finish[the answer]{CALL_END}",
        "",
    ]
    if exemplars:
        parts += [EXAMPLES_HEADER, "\n\n".join(e.strip() for e in exemplars), END_OF_EXAMPLES, ""]
    parts += [f"Question: {question}", scratchpad.rstrip()]
    return "\n".join(parts).rstrip() + "\n"


def strip_think(text: str) -> str:
    """`text` without its `<think>...</think>` blocks (each `<think>` up to the next `</think>`; an
    unclosed one stays). Two plain scans: linear in the text, where the lazy regular expression
    rescanned to the end for every unclosed `<think>`."""
    parts, i = [], 0
    while (start := text.find("<think>", i)) >= 0:
        end = text.find("</think>", start + len("<think>"))
        if end < 0:
            break
        parts.append(text[i:start])
        i = end + len("</think>")
    parts.append(text[i:])
    return "".join(parts)


def clean_solver_output(text: str) -> str:
    """Drop `<think>` blocks; keep lines up to the first holding `<CALL_END>` (else the first line)."""
    text = strip_think(text or "").strip()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if CALL_END in line:
            return "\n".join(lines[: i + 1]).strip()
    if CALL_BEGIN in text:  # an unclosed call may span lines; keep it whole
        return text
    return lines[0].strip() if lines else ""


# one quantifier between the word and the colon (`\s*\d*\s*` would try every split of a long run of
# spaces: quadratic on model output such as "Thought" and 60,000 spaces)
_STEP_LABEL = re.compile(r"\s*(?:thought|step)[\s\d]*:\s*", re.IGNORECASE)


def strip_step_label(text: str | None) -> str:
    """A thought without the `Thought 3:` / `Step 3:` labels a model may repeat from the prompt
    (matched where the last one ended, so many labels cost no copies of the rest)."""
    text = (text or "").strip()
    pos = 0
    while (m := _STEP_LABEL.match(text, pos)) is not None and m.end() > pos:
        pos = m.end()
    return text[pos:].strip()


# ReAct's text-mode stop sequences: zero-shot stops before an observation the model would invent;
# few-shot calls once per line, as ToolQA's ReAct does (its model call stops at the end of the line)
REACT_TEXT_STOP = ("\nObservation",)
REACT_LINE_STOP = ("\n",)
# SEER's solver stops at the end of its call (the reference reads up to it and drops the rest)
SOLVER_TEXT_STOP = (CALL_END,)


def react_trace(query: str, steps: Sequence[Any], omit_results_of: Sequence[str] = ()) -> str:
    """A solved trajectory as a ReAct exemplar: `Question`, then `Thought i` / `Action i` / `Observation i`."""
    lines = [f"Question: {query}"]
    for i, st in enumerate(steps, 1):
        lines.append(f"Thought {i}: {strip_step_label(st.thought) or 'I take the next step.'}")
        lines.append(f"Action {i}: {st.action.text()}")
        obs = "Omitted_Retrieve_Results" if st.action.name in omit_results_of else str(st.observation)
        lines.append(f"Observation {i}: {' '.join(obs.split())[:2048]}")
    return "\n".join(lines)


def react_fewshot_prompt(*, tools: Sequence[ToolSpec], examples: str, question: str, scratchpad: str) -> str:
    """The few-shot ReAct prompt (text actions): instruction, tools, solved examples, question."""
    return (
        "Solve a question answering task with interleaving Thought, Action, Observation steps. A Thought "
        "reasons about the current situation; an Action calls one tool, written as Tool[arguments] on "
        "one line; the Observation is what the tool returned. Finish[answer] gives the answer and ends "
        "the task.\n\n"
        f"Tools:\n{tools_block(tools)}\n(END OF TOOLS)\n\n"
        f"{EXAMPLES_HEADER}\n{examples.strip()}\n{END_OF_EXAMPLES}\n\n"
        f"Question: {question}\n{scratchpad}"
    ).rstrip()


def react_prompt(*, tools: Sequence[ToolSpec], question: str, scratchpad: str) -> str:
    """The zero-shot ReAct prompt (text actions)."""
    return (
        "Answer the question by alternating Thought, Action and Observation steps. A Thought reasons "
        "about what to do next; an Action calls exactly one tool, written on one line as "
        "Tool[arguments]; the Observation is what the tool returned. Finish[answer] gives the answer "
        "and ends the task.\n\n"
        f"Tools:\n{tools_block(tools)}\n(END OF TOOLS)\n\n"
        "Write the next Thought and Action in this form and nothing after them:\n"
        "Thought k: ...\nAction k: Tool[arguments]\n\n"
        f"Question: {question}\n{scratchpad}"
    ).rstrip() + "\n"


def react_system_prompt() -> str:
    """The zero-shot ReAct system message (function calling)."""
    return (
        "You answer the user's question by calling the tools you are given, one call at a time, and "
        "reading what each returns. Think briefly before each call. When you know the answer, call "
        "Finish with it."
    )
