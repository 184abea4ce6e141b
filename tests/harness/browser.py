"""A page opened in a real headless Chromium (Debian's package), driven through the DevTools protocol.

`open_page(path)` starts Chromium on 127.0.0.1 with a fresh profile and no background networking,
loads a local file, and returns what a person's browser would show: console messages and uncaught
exceptions, the load errors Chromium logs, and every <img> with whether it decoded (naturalWidth).
A screenshot (PNG bytes) comes back too. Chromium is stopped and its profile removed afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    console: list[dict[str, Any]] = field(default_factory=list)  # {"level", "text"}
    exceptions: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)  # {"alt", "naturalWidth", "complete"}
    title: str = ""
    text: str = ""
    screenshot: bytes = b""

    @property
    def errors(self) -> list[str]:
        return self.exceptions + [m["text"] for m in self.console if m["level"] in ("error", "warning")]


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Chromium writes the port it chose to DevToolsActivePort in its profile folder."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        if marker.exists():
            first = marker.read_text().splitlines()[:1]
            if first and first[0].strip().isdigit():
                return int(first[0])
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


async def _inspect(port: int, url: str, timeout: float) -> PageReport:
    import aiohttp

    report = PageReport()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 1_000_000))
            pending: dict[int, asyncio.Future] = {}
            loaded = asyncio.Event()

            async def reader() -> None:
                async for msg in ws:
                    data = json.loads(msg.data)
                    if "id" in data and data["id"] in pending:
                        pending.pop(data["id"]).set_result(data)
                        continue
                    method, params = data.get("method"), data.get("params", {})
                    if method == "Runtime.consoleAPICalled":
                        text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                        report.console.append({"level": params["type"], "text": text})
                    elif method == "Runtime.exceptionThrown":
                        report.exceptions.append(params["exceptionDetails"].get("text", "exception"))
                    elif method == "Log.entryAdded":
                        entry = params["entry"]
                        report.console.append({"level": entry["level"], "text": entry.get("text", "")})
                    elif method == "Page.loadEventFired":
                        loaded.set()

            async def call(method: str, **params: Any) -> dict[str, Any]:
                n = next(ids)
                fut = asyncio.get_running_loop().create_future()
                pending[n] = fut
                await ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
                reply = await asyncio.wait_for(fut, timeout)
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

            task = asyncio.ensure_future(reader())
            try:
                for domain in ("Runtime", "Log", "Page"):
                    await call(f"{domain}.enable")
                await call("Page.navigate", url=url)
                await asyncio.wait_for(loaded.wait(), timeout)
                expr = (
                    "JSON.stringify({title: document.title, text: document.body.innerText, images: "
                    "Array.from(document.images).map(i => ({alt: i.alt, naturalWidth: i.naturalWidth, "
                    "complete: i.complete}))})"
                )
                found = await call("Runtime.evaluate", expression=expr, returnByValue=True)
                facts = json.loads(found["result"]["value"])
                report.title, report.text, report.images = facts["title"], facts["text"], facts["images"]
                shot = await call("Page.captureScreenshot", format="png")
                report.screenshot = base64.b64decode(shot["data"])
                await asyncio.sleep(0.2)  # late console messages
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    return report


def open_page(path: str | os.PathLike[str], timeout: float = 60.0) -> PageReport:
    """Load a local file in headless Chromium and report what it showed (see the module docstring)."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed")
    profile = Path(tempfile.mkdtemp(prefix="seer-env-chromium-"))
    proc = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port = _devtools_port(profile, proc)
        url = Path(path).resolve().as_uri()
        return asyncio.run(_inspect(port, url, timeout))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
