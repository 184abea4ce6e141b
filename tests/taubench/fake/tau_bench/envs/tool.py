"""Fake of `tau_bench.envs.tool`: tools are never instantiated; both methods are staticmethods."""

import abc
from typing import Any


class Tool(abc.ABC):
    @staticmethod
    def invoke(*args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def get_info() -> dict[str, Any]:
        raise NotImplementedError
