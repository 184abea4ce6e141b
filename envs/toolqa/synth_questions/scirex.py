"""SciREX templates, over the results (method, dataset, metric, task, score) of the raw SciREX documents.

No tool reads those records: agents see the papers' text through RetrieveScirex, and every chain is one
retrieval. Where the official generator's gold disagrees with its own wording, the gold follows the
wording:

- hard "Which datasets is {Method} method evaluated on for {Task} task?": every dataset with a result for
  that method and task, joined ", " (official: only the sampled result's dataset).
- hard "highest ... score": highest numeric score among results whose score parses as a number.

Kept as in the official generator: easy answers keep the raw score (a few are JSON numbers).
"""

from __future__ import annotations

from seer_env.envs.toolqa.synth_questions.common import Instance, Sampler, Skip, retrieve, template


def _results(s: Sampler) -> list[dict]:
    """Every n-ary relation of the train, dev and test documents: Method, Material, Metric, Task, score."""

    def build() -> list[dict]:
        return [dict(r) for doc in s.raw_records("scirex") for r in doc["n_ary_relations"]]

    return s.memo("scirex results", build)


def _numeric_score(score) -> float | None:
    """A score as a number, None when it is not one (ranges, percentages, `±`, sizes)."""
    if isinstance(score, (int, float)):
        return float(score)
    text = str(score).replace("---", "-").replace("\ufeff", "").replace(",", ".")
    if not text or text == "-" or any(c in text for c in "±/%mMkKB"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


@template("scirex", "easy", 1, "What is the corresponding {metric} score of the {method} method on {dataset} dataset for {task} task?", 100)  # fmt: skip
def score_of_result(s: Sampler) -> Instance:
    results = _results(s)
    r = s.pick(results)
    same = [x for x in results if all(x[k] == r[k] for k in ("Material", "Method", "Metric", "Task"))]
    if len({str(x["score"]) for x in same}) != 1:
        raise Skip
    fields = dict(metric=r["Metric"], method=r["Method"], dataset=r["Material"], task=r["Task"])
    keyword = f"{r['Method']} method {r['Metric']} score on {r['Material']} for {r['Task']}"
    return Instance(fields, r["score"], [retrieve("scirex", keyword)])


@template("scirex", "hard", 1, "On which dataset does the {method} method achieve the highest {metric} score for {task} task?", 25, verify=False)  # fmt: skip
def best_dataset_of_method(s: Sampler) -> Instance:
    results = _results(s)
    r = s.pick(results)
    group = [
        x for x in results if (x["Method"], x["Metric"], x["Task"]) == (r["Method"], r["Metric"], r["Task"])
    ]
    scored = [
        (_numeric_score(x["score"]), x["Material"]) for x in group if _numeric_score(x["score"]) is not None
    ]
    if len({m for _, m in scored}) < 2:
        raise Skip
    best = max(v for v, _ in scored)
    datasets = {m for v, m in scored if v == best}
    if len(datasets) != 1:
        raise Skip
    fields = dict(method=r["Method"], metric=r["Metric"], task=r["Task"])
    keyword = f"{r['Method']} method {r['Metric']} score for {r['Task']}"
    return Instance(fields, datasets.pop(), [retrieve("scirex", keyword)])


@template("scirex", "hard", 2, "Which method achieves the highest {metric} score on {dataset} dataset for {task} task?", 25, verify=False)  # fmt: skip
def best_method_on_dataset(s: Sampler) -> Instance:
    results = _results(s)
    r = s.pick(results)
    group = [
        x
        for x in results
        if (x["Material"], x["Metric"], x["Task"]) == (r["Material"], r["Metric"], r["Task"])
    ]
    scored = [
        (_numeric_score(x["score"]), x["Method"]) for x in group if _numeric_score(x["score"]) is not None
    ]
    if len({m for _, m in scored}) < 2:
        raise Skip
    best = max(v for v, _ in scored)
    methods = {m for v, m in scored if v == best}
    if len(methods) != 1:
        raise Skip
    fields = dict(metric=r["Metric"], dataset=r["Material"], task=r["Task"])
    keyword = f"{r['Metric']} score on {r['Material']} for {r['Task']}"
    return Instance(fields, methods.pop(), [retrieve("scirex", keyword)])


@template("scirex", "hard", 3, "On what metrics is the {method} method evaluated on {dataset} dataset for {task} task?", 25, verify=False)  # fmt: skip
def metrics_of_method_on_dataset(s: Sampler) -> Instance:
    results = _results(s)
    r = s.pick(results)
    key = (r["Material"], r["Method"], r["Task"])
    metrics = dict.fromkeys(x["Metric"] for x in results if (x["Material"], x["Method"], x["Task"]) == key)
    fields = dict(method=r["Method"], dataset=r["Material"], task=r["Task"])
    keyword = f"{r['Method']} method on {r['Material']} for {r['Task']}"
    return Instance(fields, ", ".join(metrics), [retrieve("scirex", keyword)])


@template("scirex", "hard", 4, "Which datasets is {method} method evaluated on for {task} task?", 25, verify=False)  # fmt: skip
def datasets_of_method(s: Sampler) -> Instance:
    results = _results(s)
    r = s.pick(results)
    datasets = dict.fromkeys(
        x["Material"] for x in results if (x["Method"], x["Task"]) == (r["Method"], r["Task"])
    )
    keyword = f"{r['Method']} method evaluated for {r['Task']}"
    return Instance(
        dict(method=r["Method"], task=r["Task"]), ", ".join(datasets), [retrieve("scirex", keyword)]
    )
