"""`seer-env export --format chat`: rows that round-trip, load with `datasets`, and go through a chat
template and TRL's SFT trainer as a trainer reads them."""

from __future__ import annotations

import json

import pytest

from seer_env.chat import episode_row, tool_call_problems, trajectory_messages
from seer_env.cli import main
from seer_env.export import chat_rows
from seer_env.records import RESULTS_FILE, read_episodes
from seer_env.types import Step, ToolCall, Trajectory
from tests.chat.conftest import ENV
from tests.chat.tokenizer import assistant_text, build_tokenizer


def export(run, out, *args: str) -> int:
    return main(["export", str(run), "--format", "chat", "--out", str(out), *args])


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_parquet(path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def check_row(row: dict, rec) -> None:
    """A row says what its record says: every step, in order, as a call and its answer."""
    msgs = row["messages"]
    assert tool_call_problems(msgs) == []
    assert msgs[0]["role"] == "system" and (msgs[1]["role"], msgs[1]["content"]) == (
        "user",
        rec.trajectory.query,
    )
    assert row["prompt"] + row["completion"] == msgs and len(row["prompt"]) == 2
    assert (row["task_id"], row["env_id"], row["policy"], row["trial"]) == (
        rec.task_id,
        rec.env_id,
        rec.policy,
        rec.trial,
    )
    assert (row["reward"], row["success"], row["n_steps"], row["model"]) == (
        rec.reward,
        rec.success,
        rec.n_steps,
        rec.model,
    )
    assert row["step_ok"] == [s.ok for s in rec.trajectory.steps]
    calls = [(m, c) for m in msgs if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    answers = {m["tool_call_id"]: m for m in msgs if m["role"] == "tool"}
    steps = [s for s in rec.trajectory.steps if s.action.name != "Finish"]
    assert len(calls) == len(steps)
    for (_, call), step in zip(calls, steps, strict=True):
        assert call["function"]["name"] == step.action.name
        assert json.loads(call["function"]["arguments"]) == step.action.arguments
        assert answers[call["id"]]["content"] == step.observation
        assert answers[call["id"]]["name"] == step.action.name
    finish = [s for s in rec.trajectory.steps if s.action.name == "Finish"]
    if finish:  # the answer is the last message, as text; the env's verdict is the reward
        assert msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls")
        assert msgs[-1]["content"] == finish[0].action.arguments["answer"]
    tools = {t["function"]["name"] for t in json.loads(row["tools"])}
    assert "LoadDB" in tools and "Finish" not in tools  # text stands for the answer tool


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_export_round_trips(synth_run, tmp_path, suffix):
    out = tmp_path / f"chat{suffix}"
    assert export(synth_run, out) == 0
    rows = read_jsonl(out) if suffix == ".jsonl" else read_parquet(out)
    records = {r.key: r for r in read_episodes(synth_run / RESULTS_FILE)}
    assert len(rows) == len(records) == 10
    for row in rows:
        if suffix == ".parquet":  # Arrow gives every message every key: the absent ones are None
            row["messages"] = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
            row["prompt"], row["completion"] = row["messages"][:2], row["messages"][2:]
        check_row(row, records[(row["env_id"], row["policy"], row["task_id"], row["trial"])])
    assert sum(r["success"] for r in rows) >= 4  # the oracle's episodes (some random ones too, rarely)


def test_filters(synth_run, tmp_path):
    records = read_episodes(synth_run / RESULTS_FILE)
    out = tmp_path / "ok.jsonl"
    assert export(synth_run, out, "--only-success") == 0
    assert sorted(r["task_id"] + r["policy"] for r in read_jsonl(out)) == sorted(
        r.task_id + r.policy for r in records if r.success
    )
    assert export(synth_run, out, "--policy", "random") == 0
    assert {r["policy"] for r in read_jsonl(out)} == {"random"} and len(read_jsonl(out)) == 5
    assert export(synth_run, out, "--env", "Other-v0") == 0
    assert read_jsonl(out) == []
    assert len(chat_rows(synth_run, envs=[ENV], policies="random,oracle")) == 10
    assert export(synth_run, out, "--system", "Be brief.") == 0
    assert {r["messages"][0]["content"] for r in read_jsonl(out)} == {"Be brief."}


def test_a_run_without_env_specs_keeps_tool_calls(synth_run, tmp_path, caplog):
    """A run recorded before the manifest had `env_specs`: every step stays a tool call, no tools."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(synth_run, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["env_specs"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    rows = chat_rows(old, policies="oracle")
    assert "no env specs" in caplog.text
    assert rows and all(r["tools"] is None and tool_call_problems(r["messages"]) == [] for r in rows)
    finish = [
        c
        for r in rows
        for m in r["messages"]
        for c in m.get("tool_calls") or []
        if c["function"]["name"] == "Finish"
    ]
    assert len(finish) == len(rows)  # the answer stays a call to Finish, answered by its tool message


def test_export_says_what_is_wrong(synth_run, tmp_path, capsys):
    assert export(synth_run, tmp_path / "chat.csv") == 2
    assert "must end in .jsonl or .parquet" in capsys.readouterr().err
    assert export(tmp_path / "nothing", tmp_path / "chat.jsonl") == 2
    assert not (tmp_path / "chat.jsonl").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_loads_with_datasets(synth_run, tmp_path, suffix):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / f"chat{suffix}"
    export(synth_run, out)
    ds = datasets.load_dataset(
        suffix.lstrip(".").replace("jsonl", "json"),
        data_files=str(out),
        split="train",
        cache_dir=str(tmp_path),
    )
    assert ds.num_rows == 10
    assert {"messages", "prompt", "completion", "tools", "reward", "success", "step_ok"} <= set(
        ds.column_names
    )
    row = next(
        r for r in ds if r["policy"] == "oracle" and r["success"] and r["messages"][2].get("tool_calls")
    )
    assert row["messages"][2]["tool_calls"][0]["id"] == "call00001"
    assert row["messages"][3]["tool_call_id"] == "call00001"


def test_a_trainer_reads_the_export_through_a_chat_template(synth_run, tmp_path):
    """What SFT does with each row (rendering through the tokenizer's chat template with the row's
    tools, masking all but the assistant's turns, the prompt a prefix of prompt + completion), then
    TRL's SFTTrainer for a step on a tiny model, and TRL's prompt rendering as GRPO does it."""
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "chat.parquet"
    export(synth_run, out)
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train", cache_dir=str(tmp_path))
    tok = build_tokenizer(json.dumps(r, default=str) for r in ds)
    for row in ds:
        tools = json.loads(row["tools"])
        enc = tok.apply_chat_template(
            row["messages"], tools=tools, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, mask = enc["input_ids"], enc["assistant_masks"]
        trained = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
        assert trained == "".join(assistant_text(m) for m in row["messages"] if m["role"] == "assistant")
        prompt = tok.apply_chat_template(
            row["prompt"], tools=tools, add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        assert ids[: len(prompt)] == prompt
        assert '"name": "Finish"' not in tok.decode(ids) and '"name": "LoadDB"' in tok.decode(ids)

    trl = pytest.importorskip("trl")
    from transformers import GPT2Config, GPT2LMHeadModel
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    assert is_conversational(ds[0])
    rendered = maybe_apply_chat_template({"prompt": ds[0]["prompt"]}, tok, tools=json.loads(ds[0]["tools"]))
    assert (
        rendered["prompt"].endswith("<|assistant|>") and ds[0]["prompt"][1]["content"] in rendered["prompt"]
    )
    # a prompt is ~1.5k tokens: the tools' schemas come first, as model templates put them
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=3072, n_embd=32, n_layer=1, n_head=2))
    args = trl.SFTConfig(
        output_dir=str(tmp_path / "sft"),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=3072,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        logging_steps=1,
    )
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_live_trajectory_in_both_reply_styles():
    """The conversion for live rollouts: a τ-bench-style trajectory (replies to a user) and raw text."""
    traj = Trajectory(
        "TauBench-retail-v0",
        "3",
        "Hi, I want to cancel an order.",
        steps=[
            Step(ToolCall("find_user_id_by_email", {"email": "a@b.c"}), "u1", ok=True, thought="look up"),
            Step(ToolCall("respond", {"content": "Which order?"}), "Order #12.", ok=True),
            Step(ToolCall("", {}, raw="I will cancel it"), "Error: could not read a tool call", ok=False),
            Step(ToolCall("cancel_pending_order", {"order_id": "#12"}), "cancelled", ok=True),
            Step(ToolCall("respond", {"content": "Done."}), "###STOP###", ok=True),
        ],
        reward=1.0,
        success=True,
    )
    info = {"reply_tool": "respond", "instructions": "You are a retail agent."}
    msgs = trajectory_messages(traj, info=info, arguments="dict")
    assert [m["role"] for m in msgs] == [
        "system", "user", "assistant", "tool", "assistant", "user", "assistant", "user", "assistant", "tool",
        "assistant", "user",
    ]  # fmt: skip
    assert msgs[0]["content"].startswith("You are a retail agent.")
    assert msgs[2]["content"] == "look up" and msgs[2]["tool_calls"][0]["function"]["arguments"] == {
        "email": "a@b.c"
    }
    assert msgs[4:6] == [
        {"role": "assistant", "content": "Which order?"},
        {"role": "user", "content": "Order #12."},
    ]
    assert msgs[6]["content"] == "I will cancel it" and msgs[7]["content"].startswith("Error")
    assert msgs[9]["tool_call_id"] == msgs[8]["tool_calls"][0]["id"] == "call00002"
    assert msgs[-1] == {"role": "user", "content": "###STOP###"}
    assert tool_call_problems(msgs) == []
    # without the env's info, every step stays a tool call
    plain = trajectory_messages(traj)
    assert sum(len(m.get("tool_calls") or []) for m in plain) == 4
    row = episode_row(
        {
            "env_id": "TauBench-retail-v0",
            "policy": "p",
            "task_id": "3",
            "trajectory": traj.to_dict(),
            "success": True,
        },
        info=info,
        tools=[{"type": "function", "function": {"name": n}} for n in ("respond", "cancel_pending_order")],
    )
    assert json.loads(row["tools"]) == [{"type": "function", "function": {"name": "cancel_pending_order"}}]
    assert row["step_ok"] == [True, True, False, True, True]


def test_problems_are_found():
    call = {"id": "call00001", "type": "function", "function": {"name": "A", "arguments": "{}"}}
    assert tool_call_problems([{"role": "assistant", "tool_calls": [call]}]) == [
        "message 0: tool call 'call00001' never answered"
    ]
    twice = [
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call00001", "content": ""},
        {"role": "tool", "tool_call_id": "call00001", "content": ""},
        {"role": "tool", "tool_call_id": "call00009", "content": ""},
    ]
    assert len(tool_call_problems(twice)) == 2
