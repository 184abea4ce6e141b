"""Put the fake `tau_bench` (tests/taubench/fake) on sys.path for these tests only.

The product code imports `tau_bench` the normal way. The path entry is added when the first test of
this package starts and removed, with every `tau_bench` and `seer_env.envs.taubench` module, after the
last one, so other test packages see an environment without tau_bench.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKE = str(Path(__file__).parent / "fake")


def _purge() -> None:
    for name in list(sys.modules):
        if name == "tau_bench" or name.startswith(("tau_bench.", "seer_env.envs.taubench")):
            del sys.modules[name]


@pytest.fixture(scope="package", autouse=True)
def fake_tau_bench():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    _purge()
    sys.path.insert(0, FAKE)
    try:
        yield FAKE
    finally:
        if FAKE in sys.path:
            sys.path.remove(FAKE)
        _purge()


@pytest.fixture
def llm(fake_tau_bench):
    """The scripted LLM (litellm provider `seerscripted`) with plans for every fake task; unregistered after."""
    from tests.taubench import scripted_llm
    from tests.taubench.helpers import all_tasks, make_env

    handler = scripted_llm.install()
    for env_name, split in [("retail", "test"), ("retail", "train"), ("retail", "dev"), ("airline", "test")]:
        env = make_env(env_name, split)
        handler.set_plans(all_tasks(env_name, split), env.unwrapped.write_tools)
    try:
        yield handler
    finally:
        scripted_llm.uninstall()
