"""Text observations through the shared memory of gymnasium's AsyncVectorEnv."""

from __future__ import annotations

import copy

import pytest
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

from seer_env.spaces import SharedTexts, TextObservation


def test_written_texts_read_back_live_and_deep_copies_are_snapshots():
    space = TextObservation(max_bytes=64)
    shm = create_shared_memory(space, n=3)
    view = read_from_shared_memory(space, shm, n=3)
    assert isinstance(view, SharedTexts) and tuple(view) == ("", "", "")
    texts = ["Ünïcödé ✓ 🎉", "", "lone \udc80 surrogate"]
    for i, t in enumerate(texts):
        write_to_shared_memory(space, i, t, shm)
    assert tuple(view) == tuple(texts) and view[-1] == texts[-1] and view[1:] == tuple(texts[1:])
    snap = copy.deepcopy(view)  # what AsyncVectorEnv returns from step and reset
    assert type(snap) is tuple and snap == tuple(texts)
    write_to_shared_memory(space, 0, "next step", shm)
    assert view[0] == "next step" and snap[0] == texts[0]  # the view follows, the snapshot does not
    with pytest.raises(IndexError):
        view[3]


def test_a_text_longer_than_the_slot_is_refused_with_the_way_out():
    space = TextObservation(max_bytes=8)
    shm = create_shared_memory(space, n=1)
    write_to_shared_memory(space, 0, "12345678", shm)
    with pytest.raises(ValueError, match="shared_memory=False"):
        write_to_shared_memory(space, 0, "ü" * 5, shm)  # 10 bytes of UTF-8
    assert read_from_shared_memory(space, shm, n=1)[0] == "12345678"
