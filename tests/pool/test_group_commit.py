"""`aadd` from many concurrent episodes: written together, each caller with its own outcome.

The adds that queue while one is being written go into one transaction; the pool must end up exactly
as the same adds made one by one would leave it (content, ids in arrival order, each outcome).
"""

from __future__ import annotations

import asyncio

import pytest

from seer_env.pool import ExperienceMemory, PoolFrozenError
from tests.pool.fakes import HashEmbedder, make_traj


def _mixed_adds():
    """Arrival order of 60 adds: successes, failures, duplicates of earlier ones, a split not allowed."""
    adds = []
    for i in range(60):
        if i % 7 == 3:
            adds.append((make_traj(i, success=False), {}))
        elif i % 11 == 5:
            adds.append((make_traj(i - 5), {}))  # the same trajectory again
        elif i % 13 == 0:
            adds.append((make_traj(i), {"split": "test"}))
        else:
            adds.append((make_traj(i), {"source": "online", "run_id": "r1"}))
    return adds


def test_concurrent_aadds_end_as_sequential_adds(tmp_path):
    adds = _mixed_adds()
    one_by_one = ExperienceMemory(tmp_path / "seq.sqlite", embedder=HashEmbedder())
    expected = [one_by_one.add(t, **kw) for t, kw in adds]

    together = ExperienceMemory(tmp_path / "batched.sqlite", embedder=HashEmbedder())

    async def play():
        return await asyncio.gather(*[together.aadd(t, **kw) for t, kw in adds])

    assert asyncio.run(play()) == expected
    assert 0 < sum(expected) < len(adds)
    assert together.content_hash() == one_by_one.content_hash()  # same rows, same order
    assert [(e.query, e.run_id, e.split) for e in together.experiences()] == [
        (e.query, e.run_id, e.split) for e in one_by_one.experiences()
    ]
    one_by_one.close()
    together.close()


def test_a_frozen_pool_refuses_every_waiting_add(tmp_path):
    mem = ExperienceMemory(tmp_path / "f.sqlite", embedder=HashEmbedder())
    mem.add(make_traj(0))
    mem.freeze()

    async def play():
        return await asyncio.gather(*[mem.aadd(make_traj(i)) for i in range(1, 9)], return_exceptions=True)

    outcomes = asyncio.run(play())
    assert all(isinstance(o, PoolFrozenError) for o in outcomes)
    assert len(mem) == 1
    mem.close()


def test_a_cancelled_caller_does_not_lose_the_others(tmp_path):
    mem = ExperienceMemory(tmp_path / "c.sqlite", embedder=HashEmbedder())

    async def play():
        tasks = [asyncio.ensure_future(mem.aadd(make_traj(i))) for i in range(10)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(play())
    assert isinstance(outcomes[3], asyncio.CancelledError)
    assert [o for i, o in enumerate(outcomes) if i != 3] == [True] * 9
    mem.sync()
    assert len(mem) == 10  # the cancelled caller's add went through all the same
    with pytest.raises(RuntimeError):
        mem.close()
        asyncio.run(mem.aadd(make_traj(99)))
