"""The τ-bench paths under real use: the agent's sync calls share one event loop (litellm's logging
queue and memory stay flat), the user model's endpoint reaches τ-bench's LLM user, and the offline
users answer by task index when two tasks share one instruction (as retail test tasks 93 and 95 do)."""

from __future__ import annotations

import gc
import logging
import threading
import tracemalloc

import pytest

from tests.harness.fake_server import FakeOpenAIServer
from tests.taubench.helpers import all_tasks, make_env

STOP = "###STOP###"


def _user_brain(body):
    """The loopback server as τ-bench's LLM user: a fixed opening, then a stop."""
    last = body["messages"][-1]["content"]
    return {"content": "I want to cancel an order." if last.startswith("Hi!") else STOP}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_agent_calls_keep_memory_flat_over_300_calls(fake_tau_bench):
    """300 model calls from three worker threads, as τ-bench's runner makes them: after the first 60,
    no litellm warning, its logging queue stays empty, and memory stays what it was."""
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    from seer_env.agents.taubench.agent import SeerTauAgent
    from seer_env.llm import LLMClient

    tau = make_env("retail").unwrapped.tau_env
    srv = FakeOpenAIServer(lambda body: {"content": "How can I help?"}, record=False).start()
    warnings = _Records()
    litellm_log = logging.getLogger("LiteLLM")
    try:
        client = LLMClient("openai/agent", api_base=srv.base_url, api_key="sk", timeout=10)
        agent = SeerTauAgent(tau.tools_info, tau.wiki, llm=client)
        messages = [{"role": "system", "content": tau.wiki}, {"role": "user", "content": "Hi, I need help."}]

        def calls(n: int) -> None:
            for _ in range(n):
                _, name, kwargs, _ = agent._complete(messages)
                assert (name, kwargs) == ("respond", {"content": "How can I help?"})

        def in_threads(total: int) -> None:
            threads = [threading.Thread(target=calls, args=(total // 3,)) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        tracemalloc.start()
        # warm: imports, pricing, connection pools; litellm's logging worker moves once to the shared
        # loop when an earlier test left it on another one
        in_threads(60)
        litellm_log.addHandler(warnings)
        gc.collect()
        after_warmup = tracemalloc.get_traced_memory()[0]
        in_threads(240)
        gc.collect()
        after_all = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        litellm_log.removeHandler(warnings)
        srv.stop()
    assert client.usage["calls"] == 300
    assert [r.getMessage() for r in warnings.records if r.levelno >= logging.WARNING] == []
    queue = GLOBAL_LOGGING_WORKER._queue
    assert queue is None or queue.qsize() <= 3
    # a fresh loop per call kept ~50 KB per call (12 MB for these 240)
    assert after_all - after_warmup < 1_500_000, after_all - after_warmup


def test_user_model_and_endpoint_reach_the_user_simulator(fake_tau_bench, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server: no key needed
    with FakeOpenAIServer(_user_brain) as srv:
        env = make_env("retail", user_strategy="llm", user_model="sim-user", user_api_base=srv.base_url)
        obs, _ = env.reset(options={"task_id": "0"})
        assert obs == "I want to cancel an order."
        assert {r["model"] for r in srv.requests} == {"sim-user"}
        assert "Instruction:" in srv.requests[-1]["messages"][0]["content"]
        _, _, terminated, *_ = env.step({"name": "respond", "arguments": {"content": "Which one?"}})
        assert terminated and len(srv.requests) == 3  # built, reset, one reply


def test_user_endpoint_through_tau_bench_runner(llm, tmp_path, monkeypatch):
    from seer_env.agents.taubench.runner import TauRunOptions, run_tau

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer(_user_brain) as srv:
        opts = TauRunOptions(
            model="oracle",
            model_provider="seerscripted",
            user_model="openai/runner-user",
            user_api_base=srv.base_url,
            task_ids=[0],
            log_dir=str(tmp_path / "results"),
            recall=False,
        )
        out = run_tau(opts)
    assert len(out.results) == 1
    assert srv.requests and {r["model"] for r in srv.requests} == {"runner-user"}


def test_seer_env_run_passes_the_user_options_and_checks_the_user_model(llm, tmp_path, monkeypatch, capsys):
    from seer_env.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "run"
    args = ["run", "--env", "TauBench-retail-v0", "--policy", "oracle", "--tasks", "0", "--out", str(out)]
    args += ["--no-progress"]
    assert main(args) == 3  # τ-bench's default user, openai/gpt-4o, has no key
    assert "openai/gpt-4o (τ-bench user model): OPENAI_API_KEY is not set" in capsys.readouterr().err
    with FakeOpenAIServer(_user_brain) as srv:
        code = main([*args, "--user-model", "openai/cli-user", "--user-api-base", srv.base_url])
        assert code == 0, capsys.readouterr().err
    # the preflight's call, then the user's own (built, reset, replies)
    assert {r["model"] for r in srv.requests} == {"cli-user"} and len(srv.requests) >= 3


@pytest.fixture
def shared_instruction(fake_tau_bench):
    """Retail test task 1 given task 0's instruction (τ-bench's retail test tasks 93 and 95 share one)."""
    import tau_bench.envs.retail.tasks_test as tasks_test

    tasks = tasks_test.TASKS_TEST
    original = tasks[1]
    tasks[1] = original.model_copy(update={"instruction": tasks[0].instruction})
    try:
        assert all_tasks("retail", "test")[1].instruction == all_tasks("retail", "test")[0].instruction
        yield tasks
    finally:
        tasks[1] = original


def test_scripted_user_keys_by_task_index(shared_instruction):
    scripts = {"0": ["Cancel #W0000001 please.", STOP], "1": ["What did I pay for #W0000003?", STOP]}
    env = make_env("retail", user_data=scripts)
    assert env.reset(options={"task_id": "1"})[0] == "What did I pay for #W0000003?"
    assert env.reset(options={"task_id": "0"})[0] == "Cancel #W0000001 please."


def test_replay_user_keys_by_task_index(shared_instruction):
    from tau_bench.types import EnvRunResult

    def recording(task_id: int, opening: str, answer: str) -> dict:
        traj = [
            {"role": "system", "content": "wiki"},
            {"role": "user", "content": opening},
            {"role": "assistant", "content": "Which order?"},
            {"role": "user", "content": answer},
        ]
        info = {"task": shared_instruction[task_id].model_dump()}
        return EnvRunResult(task_id=task_id, reward=1.0, info=info, traj=traj, trial=0).model_dump()

    data = [
        recording(0, "Cancel an order.", "#W0000001"),
        recording(1, "A question on a price.", "#W0000003"),
    ]
    env = make_env("retail", user_strategy="replay", user_data=data)
    for task, opening, answer in (
        ("1", "A question on a price.", "#W0000003"),
        ("0", "Cancel an order.", "#W0000001"),
    ):
        assert env.reset(options={"task_id": task})[0] == opening
        assert env.step({"name": "respond", "arguments": {"content": "Which order?"}})[0] == answer
    assert env.unwrapped.tau_env.user.misses == 0


def test_scripted_user_keys_by_task_index_in_tau_bench_runner(llm, shared_instruction, tmp_path):
    """τ-bench's own runner builds the envs; SEER's agent tells their user which task it plays."""
    from seer_env.agents.taubench.runner import TauRunOptions, run_tau

    scripts = {"0": ["I want to cancel order #W0000001.", STOP], "1": ["How much was order #W0000003?", STOP]}
    opts = TauRunOptions(
        model="oracle",
        model_provider="seerscripted",
        user_strategy="scripted",
        user_data=scripts,
        task_ids=[0, 1],
        log_dir=str(tmp_path / "results"),
        recall=False,
    )
    out = run_tau(opts)
    openings = {r.task_id: r.traj[1]["content"] for r in out.results}
    assert openings == {0: scripts["0"][0], 1: scripts["1"][0]}


def test_taubench_run_checks_the_user_model_first(llm, tmp_path, monkeypatch, capsys):
    from seer_env.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    args = ["taubench", "run", "--model", "oracle", "--model-provider", "seerscripted"]
    args += ["--log-dir", str(tmp_path / "results"), "--task-ids", "0"]
    assert main(args) == 3
    assert "openai/gpt-4o (τ-bench user model): OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()  # no conversation was played
    with FakeOpenAIServer(_user_brain) as srv:
        assert main([*args, "--user-model", "openai/local-user", "--user-api-base", srv.base_url]) == 0
    assert {r["model"] for r in srv.requests} == {"local-user"}
