"""ToolQA tool profiles: which reference's tool behaviour the env reproduces.

Two public code bases run the same 13 ToolQA tools with different behaviour: ToolQA's own ReAct
runner (night-chen/ToolQA) and SEER's (AI-Research-TeamX/SEER). A `ToolProfile` lists every
behaviour that differs between them; `ToolQAEnv(tool_profile="toolqa" | "seer")` picks one, and the
env's own keywords (answer_var, max_obs_chars, typed_filters) override single fields.
docs/tool_profiles.md describes both profiles and what still differs from each reference.

Every step's `info["error_kind"]` says what kind of failure the step was, as the profile's
reference would have seen it (`ERROR_KINDS`); `ToolProfile.halting_error_kinds` are the kinds on
which that reference ends an episode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# What kind of failure a step was (None: no failure).
ERROR_KINDS = (
    "empty_action",  # nothing to read
    "parse_error",  # text that is not a tool call
    "multiple_actions",  # two calls written as one (`A[x], B[y]`)
    "unknown_tool",  # a call of a tool the env does not have
    "tool_exception",  # the reference tool raised; its dispatcher answered with an error message
    "tool_message",  # the reference tool returned a failure message as its ordinary result
    "timeout",  # a wall-time limit stopped the call (SEER's own Python timeout is one too)
    "not_ready",  # corpus data is still being prepared for its first use (this env only)
    "refused",  # a bound of this env refused the call before it ran (argument too long, no sandbox)
)

# SEER's messages where they differ from ToolQA's (seer/llm_agents.py and its tools)
MSG_SEER_CALC_ERR = (
    "Execution Error: Illegal Mathematical Expression. Note that: Provide the specific number involved "
    "in the calculation, not just the variable name. Please try again."
)
MSG_SEER_PY_ERR = "Python Code must contain a result variable named {var}. Please modify it."
MSG_SEER_PY_TIMEOUT = "Execution timed out (possible infinite loop)."
MSG_SEER_GETVALUE_TOO_MANY = "An Error Occurred: Too Many Values to Display."
MSG_SEER_GETVALUE_MULTI = "GetValue only supports one column. Please modify it."
MSG_SEER_SQL_SELECT_ONLY = "Only SELECT queries are allowed."


@dataclass(frozen=True)
class ToolProfile:
    """Every tool behaviour that differs between the ToolQA and SEER references.

    answer_var: the variable PythonInterpreter returns.
    answer_preset: the variable starts at 0 (ToolQA); without it, code that never sets the variable
        fails (SEER).
    python_errors: "toolqa" (`An error occurred: <exception>`) or "seer" (any failure:
        `Python Code must contain a result variable named answer. ...`; a timeout:
        `Execution timed out (possible infinite loop).`, an ordinary result in SEER).
    calculate_error: Calculate's answer to a formula it cannot evaluate.
    db_aliases: other names LoadDB accepts (SEER: `flight` for `flights`).
    loaddb_unknown: "keep_table" (ToolQA: an unknown name with a table loaded keeps the current,
        possibly filtered, table and claims success) or "error" (SEER).
    loaddb_repeat_quirk, loadgraph_repeat_quirk: SEER remembers the last name asked for even when it
        was unknown; asking for the same name again answers as if it were loaded (LoadDB resets to
        the last loaded table, LoadGraph loads nothing).
    filter_strip_quotes: FilterDB deletes every `'` and `"` of its argument first (SEER).
    filter_empty_restores: what a condition that leaves no rows restores: "call_start" (the table as
        it was when the call began, ToolQA) or "loaded_table" (the whole loaded table, SEER).
    getvalue_max_values: more values than this (and more than one row) answer
        `getvalue_too_many` instead of the list; None: no limit (ToolQA). SEER's test is
        `sys.getsizeof(values) > 1024` on the list pandas builds: 56 + 8 n bytes on 64-bit CPython
        3.8+, so at most 121 values are shown.
    getvalue_multi_column: GetValue's error when its argument holds ", " (None: the usual one).
    loadgraph_unknown: the answer to an unknown graph name that is an ordinary result (SEER: the
        text `None`); None: an error message (ToolQA).
    nodecheck_strip_quotes: NodeCheck deletes quotes when the argument holds exactly two `"` or two
        `'` (SEER).
    sql_select_only: the answer to SQL that does not start with `select` (case-insensitive, no
        leading space skipped), an ordinary result in SEER; None: any SELECT, WITH or VALUES runs.
    sql_bare_names: `flight`, `flights`, `coffee`, `yelp`, `airbnb` as table names mean the
        databases' tables (SEER rewrites ` coffee ` to ` coffee.coffee_data `).
    sql_dialect: "mysql" (both references ran MySQL: text compares ignoring case, a text value
        against a number compares as numbers, `/` divides as real numbers, `"..."` is a string and
        `\\'` an escaped quote) or "sqlite" (SQLite's own comparisons on text columns).
    max_obs_chars: results longer than this are cut to it and `cut_suffix` added (SEER: 2048);
        None: no cut beyond the env's byte cap.
    uncut_tools: tools whose results are never cut at max_obs_chars (SEER: the two retrievers).
    typed_filters: FilterDB compares numbers as numbers (neither reference does).
    halting_error_kinds: the `error_kind`s on which the reference ends the episode.
    """

    name: str
    answer_var: str
    answer_preset: bool
    python_errors: str
    calculate_error: str
    db_aliases: tuple[tuple[str, str], ...]
    loaddb_unknown: str
    loaddb_repeat_quirk: bool
    loadgraph_repeat_quirk: bool
    filter_strip_quotes: bool
    filter_empty_restores: str
    getvalue_max_values: int | None
    getvalue_too_many: str
    getvalue_multi_column: str | None
    loadgraph_unknown: str | None
    nodecheck_strip_quotes: bool
    sql_select_only: str | None
    sql_bare_names: bool
    sql_dialect: str
    max_obs_chars: int | None
    cut_suffix: str
    uncut_tools: frozenset[str]
    typed_filters: bool
    halting_error_kinds: frozenset[str]

    def __post_init__(self) -> None:
        choices = {
            "python_errors": ("toolqa", "seer"),
            "loaddb_unknown": ("keep_table", "error"),
            "filter_empty_restores": ("call_start", "loaded_table"),
            "sql_dialect": ("sqlite", "mysql"),
        }
        for field, allowed in choices.items():
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {allowed}, not {getattr(self, field)!r}")
        unknown = set(self.halting_error_kinds) - set(ERROR_KINDS)
        if unknown:
            raise ValueError(f"unknown error kinds {sorted(unknown)}; known: {ERROR_KINDS}")
        if self.max_obs_chars is not None and self.max_obs_chars < 1:
            raise ValueError(f"max_obs_chars must be positive or None, not {self.max_obs_chars!r}")

    def replace(self, **changes) -> ToolProfile:
        """A copy with some fields changed (the env's overrides go through here)."""
        return dataclasses.replace(self, **changes)


CUT_SUFFIX = "...[too long, cannot be fully displayed]"  # SEER's mark on a cut result

TOOLQA = ToolProfile(
    name="toolqa",
    answer_var="ans",
    answer_preset=True,
    python_errors="toolqa",
    calculate_error="Illegal Mathematical Expression. Please try again.",
    db_aliases=(),
    loaddb_unknown="keep_table",
    loaddb_repeat_quirk=False,
    loadgraph_repeat_quirk=False,
    filter_strip_quotes=False,
    filter_empty_restores="call_start",
    getvalue_max_values=None,
    getvalue_too_many=MSG_SEER_GETVALUE_TOO_MANY,
    getvalue_multi_column=None,
    loadgraph_unknown=None,
    nodecheck_strip_quotes=False,
    sql_select_only=None,
    sql_bare_names=False,
    sql_dialect="mysql",  # ToolQA's SQLInterpreter ran MySQL too
    max_obs_chars=None,
    cut_suffix=CUT_SUFFIX,
    uncut_tools=frozenset({"RetrieveAgenda", "RetrieveScirex"}),  # when max_obs_chars is set
    typed_filters=False,
    # ToolQA's ReAct answers every failure with an observation, except an action line it cannot
    # split into Tool[argument], which aborts the question.
    halting_error_kinds=frozenset({"parse_error"}),
)

SEER = ToolProfile(
    name="seer",
    answer_var="answer",
    answer_preset=False,
    python_errors="seer",
    calculate_error=MSG_SEER_CALC_ERR,
    db_aliases=(("flight", "flights"),),
    loaddb_unknown="error",
    loaddb_repeat_quirk=True,
    loadgraph_repeat_quirk=True,
    filter_strip_quotes=True,
    filter_empty_restores="loaded_table",
    getvalue_max_values=121,
    getvalue_too_many=MSG_SEER_GETVALUE_TOO_MANY,
    getvalue_multi_column=MSG_SEER_GETVALUE_MULTI,
    loadgraph_unknown="None",
    nodecheck_strip_quotes=True,
    sql_select_only=MSG_SEER_SQL_SELECT_ONLY,
    sql_bare_names=True,
    sql_dialect="mysql",
    max_obs_chars=2048,
    cut_suffix=CUT_SUFFIX,
    uncut_tools=frozenset({"RetrieveAgenda", "RetrieveScirex"}),
    typed_filters=False,
    # an unreadable call, an unknown tool, or a tool that raised sets `execution_error_halted`
    halting_error_kinds=frozenset(
        {"empty_action", "parse_error", "multiple_actions", "unknown_tool", "tool_exception"}
    ),
)

PROFILES: dict[str, ToolProfile] = {p.name: p for p in (TOOLQA, SEER)}
DEFAULT_PROFILE = "toolqa"


def get_profile(profile: str | ToolProfile) -> ToolProfile:
    """The profile named `profile` (or `profile` itself when it is a ToolProfile)."""
    if isinstance(profile, ToolProfile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ValueError(
            f"tool_profile must be one of {sorted(PROFILES)} or a ToolProfile, not {profile!r}"
        ) from None


def resolve_profile(
    profile: str | ToolProfile,
    typed_filters: bool | None = None,
    answer_var: str | None = None,
    max_obs_chars: int | None = None,
) -> ToolProfile:
    """The profile with the env's overrides applied; None keeps the profile's value, and
    `max_obs_chars=0` turns the cut off."""
    p = get_profile(profile)
    changes: dict = {}
    if typed_filters is not None:
        changes["typed_filters"] = bool(typed_filters)
    if answer_var is not None:
        if not (isinstance(answer_var, str) and answer_var.isidentifier()):
            raise ValueError(f"answer_var must be a Python identifier, not {answer_var!r}")
        changes["answer_var"] = answer_var
    if max_obs_chars is not None:
        changes["max_obs_chars"] = int(max_obs_chars) or None
    return p.replace(**changes) if changes else p
