"""One embedding model for all the processes of a machine: a small server on a Unix socket.

A vector env runs one env per worker process; a worker that loads the embedding model itself holds
torch and the weights (300-500 MB) for the few retrieval calls it makes. The service holds one model
(torch or ONNX backend) for every client, and batches their texts together (`MicroBatcher`).

- `ServiceClient(model, backend).encode(texts)` connects to the service of that model and backend,
  starting it when none answers (detached, under a file lock, so that one starts), and reconnects
  once if the service went away. `seer_env.embedding.ModelEmbedder` uses it in `multiprocessing`
  workers (`service="auto"`).
- The service listens on `<run dir>/embed-<model>-<hash>-<backend>.sock`, in a folder only this user
  can open ($XDG_RUNTIME_DIR/seer-env, else the seer-env cache's `run/`, else
  /tmp/seer-env-<uid>), and writes its pid and log beside it.
- It exits once no client has been connected for `idle` seconds (300, $SEER_ENV_EMBED_SERVICE_IDLE),
  or on a `stop` request (`stop_service`).
- Protocol: a request is a 4-byte little-endian length and a JSON object: {"op": "encode",
  "texts": [...]}, {"op": "ping"} or {"op": "stop"}. A reply is a 4-byte row count and a 4-byte
  dimension, then the float32 rows; a failure is a row count of 0xFFFFFFFF, then a length-prefixed
  UTF-8 message.

    python -m seer_env.embedding_service serve --backend torch --socket PATH   # what a client starts
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from seer_env.batching import MicroBatcher
from seer_env.files import cache_dir, file_lock
from seer_env.text_models import local_encoder, model_dim, model_label, resolve_model

log = logging.getLogger(__name__)

DEFAULT_IDLE_S = 300.0
START_TIMEOUT_S = 300.0  # loading (or exporting) a model on a busy machine
MAX_REQUEST = 64 << 20
FAILED = 0xFFFFFFFF


# -- where ----------------------------------------------------------------------------------------
def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.stat()
    if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
        st = path.stat()
        if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise PermissionError(f"{path} is not a private folder of this user")
    return path


def run_dir() -> Path:
    """The private folder of the services' sockets, pid files and logs (see the module docstring)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "seer-env" if runtime else cache_dir() / "run"
    if len(str(base)) > 56:  # a socket's path (this and a name of up to 50) must stay under 107 bytes
        base = Path(tempfile.gettempdir()) / f"seer-env-{os.getuid()}"
    return _private_dir(base)


def socket_path(model: str | None, backend: str) -> Path:
    label = model_label(model)
    ident = f"{label}\n{resolve_model(model) if model else ''}\n{backend}"
    slug = "".join(c if c.isalnum() else "-" for c in label)[-24:]
    return run_dir() / f"embed-{slug}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}-{backend}.sock"


def idle_seconds() -> float:
    try:
        return float(os.environ.get("SEER_ENV_EMBED_SERVICE_IDLE", DEFAULT_IDLE_S))
    except ValueError:
        return DEFAULT_IDLE_S


def running_service_pids() -> list[int]:
    """The pids of this user's embedding services that are alive."""
    pids = []
    with contextlib.suppress(OSError):
        for f in run_dir().glob("embed-*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(f.read_text().strip())
                os.kill(pid, 0)
                pids.append(pid)
    return pids


# -- wire ---------------------------------------------------------------------------------------------
def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _send_request(sock: socket.socket, obj: dict[str, Any]) -> None:
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
    sock.sendall(len(data).to_bytes(4, "little") + data)


def _read_reply(sock: socket.socket) -> np.ndarray:
    head = _recv_exact(sock, 8)
    if head is None:
        raise ConnectionError("the embedding service closed the connection")
    n, dim = int.from_bytes(head[:4], "little"), int.from_bytes(head[4:], "little")
    if n == FAILED:
        msg = _recv_exact(sock, dim) or b""
        raise RuntimeError(f"the embedding service failed: {msg.decode('utf-8', 'replace')}")
    body = _recv_exact(sock, n * dim * 4) if n else b""
    if body is None:
        raise ConnectionError("the embedding service closed the connection")
    return np.frombuffer(body, dtype=np.float32).reshape(n, dim).copy()


# -- client ---------------------------------------------------------------------------------------------
def _try_connect(path: Path) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
    except OSError:
        s.close()
        return None
    return s


def _start(model: str | None, backend: str, path: Path) -> None:
    """Start the service detached: `serve --detach` forks and its first process exits at once, so the
    service is nobody's child (no zombie in the client that started it)."""
    log_path = path.with_suffix(".log")
    cmd = [sys.executable, "-m", "seer_env.embedding_service", "serve", "--detach", "--backend", backend]
    cmd += ["--socket", str(path), "--idle", str(idle_seconds())]
    if model:
        cmd += ["--model", str(model)]
    log.info("starting the embedding service: %s", " ".join(cmd))
    with contextlib.suppress(FileNotFoundError):
        path.with_suffix(".pid").unlink()
    with open(log_path, "ab") as out:
        launcher = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True
        )
    if launcher.wait(timeout=60) != 0:
        raise RuntimeError(f"the embedding service did not start:\n{_log_tail(path)}")


def _log_tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.with_suffix(".log").read_text(errors="replace")[-2000:]
    return ""


def _alive(pid_file: Path) -> bool | None:
    """Whether the service named by a pid file runs (None: no pid file yet)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect(model: str | None, backend: str, timeout: float = START_TIMEOUT_S) -> socket.socket:
    """A connection to the service of this model and backend, started if none answers."""
    path = socket_path(model, backend)
    sock = _try_connect(path)
    if sock is not None:
        return sock
    with file_lock(path.with_suffix(".lock")):
        sock = _try_connect(path)
        if sock is not None:
            return sock
        _start(model, backend, path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock = _try_connect(path)
            if sock is not None:
                return sock
            if _alive(path.with_suffix(".pid")) is False:
                raise RuntimeError(f"the embedding service exited while starting:\n{_log_tail(path)}")
            time.sleep(0.05)
        raise TimeoutError(f"the embedding service did not answer on {path} within {timeout:.0f} s")


class ServiceClient:
    """`encode(texts)` through the shared service (one connection per process, one request at a time)."""

    def __init__(self, model: str | None, backend: str = "torch"):
        self.model, self.backend = model, backend
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pid = 0

    def _close(self) -> None:
        if self._sock is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            for attempt in (0, 1):
                try:
                    if self._sock is None or self._pid != os.getpid():  # a forked child connects anew
                        self._sock, self._pid = connect(self.model, self.backend), os.getpid()
                    _send_request(self._sock, {"op": "encode", "texts": list(texts)})
                    return _read_reply(self._sock)
                except (ConnectionError, OSError):
                    self._close()
                    if attempt:
                        raise
        raise AssertionError("unreachable")


def stop_service(model: str | None = None, backend: str = "torch", timeout: float = 10.0) -> bool:
    """Ask the service of this model and backend to exit; True when one was running (and has gone)."""
    path = socket_path(model, backend)
    sock = _try_connect(path)
    if sock is None:
        return False
    with sock:
        _send_request(sock, {"op": "stop"})
        with contextlib.suppress(OSError, ConnectionError):
            _read_reply(sock)
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


# -- server -----------------------------------------------------------------------------------------------
class _Server:
    def __init__(self, embedder: Any, path: Path, idle: float):
        self.embedder, self.path, self.idle = embedder, path, idle
        self.active = 0
        self.last = time.monotonic()
        self.stopping = False
        self._lock = threading.Lock()

    def handle(self, conn: socket.socket) -> None:
        with conn:
            while not self.stopping:
                head = _recv_exact(conn, 4)
                if head is None:
                    break
                size = int.from_bytes(head, "little")
                body = _recv_exact(conn, size) if size <= MAX_REQUEST else None
                if body is None:
                    break
                try:
                    req = json.loads(body.decode("utf-8", "surrogatepass"))
                    op = req.get("op")
                    if op == "encode":
                        texts = [str(t) for t in req.get("texts") or []]
                        vecs = np.ascontiguousarray(self.embedder.encode(texts), dtype=np.float32)
                        dim = vecs.shape[1] if vecs.ndim == 2 and len(texts) else int(self.embedder.dim)
                        conn.sendall(
                            len(texts).to_bytes(4, "little") + dim.to_bytes(4, "little") + vecs.tobytes()
                        )
                    elif op in ("ping", "stop"):
                        conn.sendall(bytes(4) + int(self.embedder.dim).to_bytes(4, "little"))
                        if op == "stop":
                            self.stopping = True
                    else:
                        raise ValueError(f"unknown op {op!r}")
                except (OSError, ConnectionError):
                    break
                except Exception as exc:  # a bad request fails that request, not the service
                    msg = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:4000]
                    with contextlib.suppress(OSError):
                        conn.sendall(FAILED.to_bytes(4, "little") + len(msg).to_bytes(4, "little") + msg)
                with self._lock:
                    self.last = time.monotonic()
        with self._lock:
            self.active -= 1
            self.last = time.monotonic()

    def run(self) -> None:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        srv.bind(str(tmp))
        os.chmod(tmp, 0o600)
        srv.listen(256)
        os.replace(tmp, self.path)  # clients see the socket only once it accepts
        ident = self.path.stat().st_ino
        pid_file = self.path.with_suffix(".pid")
        srv.settimeout(0.5)
        log.info("embedding service %s serving on %s", self.embedder, self.path)
        try:
            while not self.stopping:
                try:
                    conn, _ = srv.accept()
                except TimeoutError:
                    with self._lock:
                        if self.active == 0 and time.monotonic() - self.last > self.idle:
                            break
                    continue
                conn.settimeout(None)
                with self._lock:
                    self.active += 1
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        finally:
            srv.close()
            with contextlib.suppress(OSError):
                if self.path.stat().st_ino == ident:  # a newer service may have taken the name
                    self.path.unlink()
                    pid_file.unlink()


class _Model:
    """The served model: a `MicroBatcher` over the local encoder, so concurrent clients share batches."""

    def __init__(self, model: str | None, backend: str):
        self.label = f"{model_label(model)} ({backend})"
        self.batcher = MicroBatcher(local_encoder(model, backend), name=model_label(model))
        self.dim = model_dim(model) or int(self.encode(["x"]).shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.batcher.encode(texts)

    def __str__(self) -> str:
        return self.label


def serve(model: str | None, backend: str, path: Path, idle: float, detach: bool = False) -> None:
    if detach and os.fork():  # the launcher returns at once; the service goes on in the child
        os._exit(0)
    path.with_suffix(".pid").write_text(str(os.getpid()))  # clients watch it while the model loads
    embedder = _Model(model, backend)
    embedder.encode(["warm up"])  # the model is loaded before the socket appears
    _Server(embedder, path, idle).run()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seer_env.embedding_service")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve one model until idle")
    s.add_argument("--model", default=None)
    s.add_argument("--backend", default="torch")
    s.add_argument("--socket", required=True)
    s.add_argument("--idle", type=float, default=DEFAULT_IDLE_S)
    s.add_argument("--detach", action="store_true", help="fork, and return at once from the first process")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    serve(args.model, args.backend, Path(args.socket), args.idle, detach=args.detach)
    return 0


if __name__ == "__main__":
    sys.exit(main())
