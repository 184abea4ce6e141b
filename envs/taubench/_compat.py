"""Import tau_bench on demand, with an error that says how to install it.

tau-bench is not on PyPI; it installs from its git repository. Nothing in seer-env imports it at
`import seer_env`: only building a TauBench env, the τ-bench agent or the `taubench` command does.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

INSTALL_COMMAND = 'pip install "tau_bench @ git+https://github.com/sierra-research/tau-bench"'


class TauBenchNotInstalled(ImportError):
    """tau_bench is not importable."""


def require_tau_bench(module: str = "tau_bench") -> ModuleType:
    """Import `module` (a tau_bench module), or raise `TauBenchNotInstalled` naming the install command."""
    # tau_bench imports litellm, which otherwise tries to fetch its price map over the network at import
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (exc.name == "tau_bench" or exc.name.startswith("tau_bench.")):
            raise
        raise TauBenchNotInstalled(
            "τ-bench environments need the tau_bench package, which is not on PyPI. Install it with:\n"
            f"    {INSTALL_COMMAND}\n"
            "(the extra seer-env[taubench] names the same git requirement)"
        ) from exc


def tau_bench_available() -> bool:
    try:
        require_tau_bench()
    except TauBenchNotInstalled:
        return False
    return True
