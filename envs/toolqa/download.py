"""Fetch the official ToolQA data into the official layout, resumably and checked.

The ToolQA repository (https://github.com/night-chen/ToolQA) publishes two things:

- the external corpus, one zip archive (several GB) on Google Drive, linked from the README's
  "External Corpus Download" section; it holds a top-level `external_corpus/` folder;
- the question files, in the repository itself under `data/questions/{easy,hard}/`.

`download(dest)` fetches both and leaves

    <dest>/data/external_corpus/{flights,coffee,yelp,airbnb,dblp,agenda,scirex}/...
    <dest>/data/questions/{easy,hard}/<domain>-<difficulty>.jsonl   (hard agenda: genda-hard.jsonl)

The archive downloads into `<dest>/external_corpus.zip.part` and resumes from there (HTTP Range) after
a dropped connection or an interrupted run. Its sha256 is recorded in `<dest>/data/download-manifest.json`
on the first download, with the size and sha256 of every file unpacked; later runs check the files
against it, and a later download of the archive must match the recorded sha256. The question files
are checked against sha256 digests pinned here for one commit of the repository.

Unpacking refuses members that would land outside the destination (absolute paths, `..`), links and
special files, and archives larger than a cap; it unpacks into a staging folder and moves the result
into place only when every member has been written, so a failed unpack leaves nothing that looks done.

Every failure a user can meet (network, truncated or corrupt archive, checksum mismatch, unsafe
archive) raises `DownloadError` with a one-line message that says what to do next.
"""

from __future__ import annotations

import hashlib
import http.client
import http.cookiejar
import json
import logging
import os
import re
import shutil
import stat
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# The Google Drive file the ToolQA README links as the external corpus
# (https://drive.google.com/file/d/<id>/view). Drive answers a large file's direct download with a
# "can't scan this file for viruses" page holding a form; `confirm=t` asks for the file itself, and
# the form is followed when the page comes anyway.
CORPUS_DRIVE_ID = "1zRbHzPW2x4dDcfmphBWlan8cxUCRNmqk"
CORPUS_PAGE_URL = f"https://drive.google.com/file/d/{CORPUS_DRIVE_ID}/view"
CORPUS_URL = f"https://drive.usercontent.google.com/download?id={CORPUS_DRIVE_ID}&export=download&confirm=t"

# The question files at the repository's latest commit (2023-08-18), served raw by GitHub.
QUESTIONS_COMMIT = "acf55534d6dcd81df84df7b5d01ebdd14508367a"
QUESTIONS_URL = f"https://raw.githubusercontent.com/night-chen/ToolQA/{QUESTIONS_COMMIT}/data/questions/"
QUESTION_SHA256 = {
    "easy/agenda-easy.jsonl": "c4ac502984207af7f20949197f83d67224c559f9103c87b963161ec97b382c82",
    "easy/airbnb-easy.jsonl": "a36f836cf40a2cb47177b61e482c1cbb0ccde636d4807a011964f7af4d722a25",
    "easy/coffee-easy.jsonl": "a79b132c1c2f802efcc149713babc0dbbbfeff76e365eb187c02209ce85e4dc7",
    "easy/dblp-easy.jsonl": "a709ad18a023b971e37c6f68073f8636a81bd8959aa1a8708c0429b33e396143",
    "easy/flight-easy.jsonl": "5e839ff74fd36c4146a6b795f244c28ca92d78a1a1d4ffbc2a24690b92c8e7e6",
    "easy/gsm8k-easy.jsonl": "074d2f6a206b5798031d043f047818293a2a1124a37059e0978c7cffd02af4f7",
    "easy/scirex-easy.jsonl": "83c4fd4f0e2ba3b35aba2d427907823e1b6d2bddb9ccc86bd974a51ef4626f87",
    "easy/yelp-easy.jsonl": "f0feb46921b1a38858f6850a71028c3685d8543dddf19e5491e6894fb435cf51",
    "hard/airbnb-hard.jsonl": "8b1950050a69d7e2c874a72a70f35800eee6b6a96ec44cd5b44564779240df57",
    "hard/coffee-hard.jsonl": "b77e1a6adacdb99eb1b25e045f7976f74b83780fa75c481439913941376c8f53",
    "hard/dblp-hard.jsonl": "f08a33161c9dd1d59c6419fee7058c4ea405b0076b1d67ad5435ffee1fb70953",
    "hard/flight-hard.jsonl": "48969a369a3274db40fcd02b02c0a49679ddb329ce466f919e6a5b11dfb80dfb",
    "hard/genda-hard.jsonl": "98e7e944dde023123d390de69b4fbb52abbc758e156892fe61f3fa8bb3e49338",
    "hard/scirex-hard.jsonl": "e8a75061c877b33796efb334f54c527f80d18a85b27bd135e5867d0bdc70e9d2",
    "hard/yelp-hard.jsonl": "efbf432b30215a807b0e5231164825d61a9b7ac663cfc4e26185f79f0ed871a6",
}

ARCHIVE_NAME = "external_corpus.zip"
MANIFEST_NAME = "download-manifest.json"
CORPUS_DIRS = ("flights", "coffee", "yelp", "airbnb", "dblp", "agenda", "scirex")
# The official corpus unpacks to a few GB; the caps stop a hostile or broken archive from filling
# the disk or the inode table.
MAX_UNPACKED_BYTES = 64 * 2**30
MAX_MEMBERS = 100_000

_CHUNK = 1 << 20
_USER_AGENT = "seer-env (ToolQA data download; Python urllib)"


class DownloadError(Exception):
    """A failure reported to the user in one line; the message says how to go on."""


class CorruptArchive(DownloadError):
    """The archive cannot be read to the end (truncated download, damaged bytes, not an archive)."""


class UnsafeArchive(DownloadError):
    """The archive holds a member that must not be unpacked (path escape, link, special file, too large)."""


class _Retry(Exception):
    """A transient failure of one HTTP attempt; the download resumes on the next one."""


# What zipfile, tarfile and the decompressors raise for bytes that are not what they should be.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, NotImplementedError,
)  # fmt: skip
try:
    import lzma

    _DATA_ERRORS += (lzma.LZMAError,)
except ImportError:  # Python built without lzma: .tar.xz archives are then unreadable anyway
    pass


@dataclass
class DownloadReport:
    dest: Path
    archive_sha256: str | None = None
    corpus_files: int = 0
    question_files: int = 0
    notes: list[str] = field(default_factory=list)


# --- small helpers ---------------------------------------------------------------------------------


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def sha256_file(path: Path, progress: bool = False, label: str | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f, _bar(path.stat().st_size, label or f"sha256 {path.name}", progress) as bar:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


@contextmanager
def _bar(total: int | None, desc: str, enabled: bool, initial: int = 0):
    from tqdm import tqdm

    with tqdm(
        total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not enabled, file=sys.stderr, leave=False, dynamic_ncols=True,
    ) as bar:  # fmt: skip
        yield bar


def _set_aside(path: Path) -> Path:
    """Rename a bad file to `<name>.bad` (replacing an older one) so the next run starts afresh."""
    bad = path.with_name(path.name + ".bad")
    os.replace(path, bad)
    return bad


def load_manifest(data_dir: Path) -> dict:
    p = Path(data_dir) / MANIFEST_NAME
    if not p.is_file():
        return {"format": 1, "archive": None, "files": {}}
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DownloadError(f"{p} is unreadable ({exc}); delete it to start the download afresh") from None
    m.setdefault("files", {})
    m.setdefault("archive", None)
    return m


def _save_manifest(data_dir: Path, manifest: dict) -> None:
    p = Path(data_dir) / MANIFEST_NAME
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, p)


def check_files(data_dir: Path, files: dict[str, dict], progress: bool = False) -> list[str]:
    """Problems of the files under `data_dir` against their recorded size and sha256 (empty: all match)."""
    problems = []
    total = sum(int(v["size"]) for v in files.values())
    h_bar = _bar(total, "checking", progress)
    with h_bar as bar:
        for rel, want in sorted(files.items()):
            p = Path(data_dir) / rel
            if not p.is_file():
                problems.append(f"data/{rel} is missing")
                continue
            if p.stat().st_size != int(want["size"]):
                problems.append(f"data/{rel} has {p.stat().st_size} bytes, {want['size']} recorded")
                continue
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    bar.update(len(chunk))
            if h.hexdigest() != want["sha256"]:
                problems.append(f"data/{rel} differs from the recorded sha256")
    return problems


# --- HTTP ------------------------------------------------------------------------------------------


class _DownloadPage(HTMLParser):
    """What a file host's interstitial page offers: Google Drive's "can't scan this file for viruses"
    page has `<form id="download-form" action=...>` with hidden inputs (id, export, confirm, uuid);
    older pages link `/uc?export=download&confirm=...`; a refusal (quota, permissions) explains itself
    in `<p class="uc-error-subcaption">`."""

    def __init__(self) -> None:
        super().__init__()
        self.form_action: str | None = None
        self.form_fields: list[tuple[str, str]] = []
        self.link: str | None = None
        self.title = ""
        self.error = ""
        self._in_form = False
        self._capture: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and a.get("id") == "download-form":
            self.form_action, self._in_form = a.get("action", ""), True
        elif tag == "input" and self._in_form and a.get("type") == "hidden" and a.get("name"):
            self.form_fields.append((a["name"], a.get("value", "")))
        elif tag == "a" and self.link is None and "export=download" in a.get("href", ""):
            self.link = a["href"]
        elif tag == "title":
            self._capture = "title"
        elif tag == "p" and "uc-error-subcaption" in a.get("class", ""):
            self._capture = "error"

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag in ("title", "p"):
            self._capture = None

    def handle_data(self, data):
        if self._capture == "title":
            self.title += data
        elif self._capture == "error":
            self.error += data

    def next_url(self, base: str) -> str | None:
        if self.form_action is not None:
            action = urllib.parse.urljoin(base, self.form_action)
            query = urllib.parse.urlencode(self.form_fields)
            return f"{action}{'&' if '?' in action else '?'}{query}" if query else action
        if self.link:
            return urllib.parse.urljoin(base, self.link)
        return None


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a `Content-Range: bytes a-b/N` (or `bytes */N`) header."""
    m = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", value or "")
    if not m:
        return None, None
    first = int(m.group(1)) if m.group(1) else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return first, total


class _Http:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        # Drive sets a cookie on the interstitial page that the confirmed request should carry.
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(self, url: str, headers: dict[str, str]):
        """The response for `url` once any "download anyway" page is followed (at most twice)."""
        for _ in range(3):
            req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, **headers})
            resp = self.opener.open(req, timeout=self.timeout)
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.startswith("text/html"):
                return resp
            with resp:
                page = _DownloadPage()
                page.feed(resp.read(2_000_000).decode("utf-8", "replace"))
            nxt = page.next_url(resp.geturl())
            if nxt is None:
                said = " ".join((page.error or page.title).split()) or "no download link on it"
                raise DownloadError(
                    f"{urllib.parse.urlsplit(url).netloc} answered with a web page, not the file ({said}). "
                    f"If this is Google Drive's quota, download the archive in a browser from {CORPUS_PAGE_URL} "
                    "and run again with --archive FILE, or use --url with a mirror"
                )
            url = nxt
        raise DownloadError(
            f"{url} keeps answering with a web page instead of the file; try --url with a mirror"
        )


def fetch(
    url: str,
    target: Path,
    *,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
    max_bytes: int | None = None,
    progress: bool = True,
    label: str | None = None,
    client: _Http | None = None,
) -> Path:
    """Download `url` to `target` through `target.part`, resuming from what the part file holds.

    A dropped connection, a timeout or a 5xx/429 answer is retried (resuming) up to `retries` times;
    a server that ignores Range sends the whole file again and the part file restarts from zero.
    The part file is renamed to `target` only when the byte count matches the size the server gave.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    client = client or _Http(timeout)
    host = urllib.parse.urlsplit(url).netloc or url
    for attempt in range(retries + 1):
        try:
            _fetch_once(client, url, part, max_bytes, progress, label or target.name)
        except _Retry as why:
            kept = part.stat().st_size if part.exists() else 0
            if attempt == retries:
                then = (
                    f"{kept:,} bytes are kept in {part}: run the same command again to resume"
                    if kept
                    else "check the network and run the same command again, or use a mirror (--url)"
                )
                raise DownloadError(
                    f"download from {host} failed after {retries + 1} tries ({why}); {then}"
                ) from None
            log.info("download from %s: %s; retrying", host, why)
            time.sleep(min(backoff * 2**attempt, 60.0))
            continue
        os.replace(part, target)
        return target
    raise AssertionError("unreachable")


def _fetch_once(
    client: _Http, url: str, part: Path, max_bytes: int | None, progress: bool, label: str
) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = client.open(url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            _, total = _content_range(exc.headers.get("Content-Range"))
            if total == have:
                return  # the part file already holds the whole file
            part.unlink()
            raise _Retry("the server refused to resume from the part file; starting over") from None
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise _Retry(f"cannot reach {urllib.parse.urlsplit(url).netloc}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Retry(f"connection failed: {exc}") from None

    with resp:
        if resp.status == 206:
            first, total = _content_range(resp.headers.get("Content-Range"))
            if first != have:
                part.unlink()
                raise _Retry(f"the server resumed at byte {first}, not {have}; starting over")
            mode = "ab"
        else:
            if have:
                log.info("the server ignored the Range request; downloading %s from the start", label)
            have, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if max_bytes is not None and total is not None and total > max_bytes:
            raise DownloadError(f"the server offers {total:,} bytes, more than the cap of {max_bytes:,}")
        with open(part, mode) as f, _bar(total, label, progress, initial=have) as bar:
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retry(
                        f"connection lost after {have:,} bytes: {exc or type(exc).__name__}"
                    ) from None
                if not chunk:
                    break
                f.write(chunk)
                have += len(chunk)
                bar.update(len(chunk))
                if max_bytes is not None and have > max_bytes:
                    raise DownloadError(f"the download passed the cap of {max_bytes:,} bytes; stopped")
    if total is not None and have < total:
        raise _Retry(f"connection closed after {have:,} of {total:,} bytes")
    if total is not None and have > total:
        part.unlink()
        raise _Retry(f"the server sent {have:,} bytes for a {total:,}-byte file; starting over")


# --- archives --------------------------------------------------------------------------------------


@dataclass
class _Member:
    parts: tuple[str, ...]
    size: int
    open: Callable[[], IO[bytes]]


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of an archive member, or UnsafeArchive when it could leave the destination."""
    if not name or "\x00" in name or "\\" in name:
        raise UnsafeArchive(f"archive member {name!r} has an unusable name")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"archive member {name!r} has an absolute path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeArchive(f"archive member {name!r} climbs out of the destination")
    return parts


def _skipped(parts: tuple[str, ...]) -> bool:
    """Archive noise made by macOS Finder."""
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store")


@contextmanager
def _open_archive(path: Path) -> Iterator[list[_Member]]:
    """The regular-file members of a zip or tar archive; raises for links, special files, bad paths."""
    with open(path, "rb") as f:
        head = f.read(512)
    try:
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            with zipfile.ZipFile(path) as zf:
                members = []
                for info in zf.infolist():
                    parts = _safe_parts(info.filename)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise UnsafeArchive(f"archive member {info.filename!r} is a symbolic link")
                    if info.flag_bits & 0x1:
                        raise UnsafeArchive(f"archive member {info.filename!r} is encrypted")
                    if info.is_dir() or not parts or _skipped(parts):
                        continue
                    members.append(_Member(parts, info.file_size, lambda info=info: zf.open(info)))
                yield members
            return
        if tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as tf:
                members = []
                for m in tf.getmembers():
                    parts = _safe_parts(m.name)
                    if m.isdir() or not parts or _skipped(parts):
                        continue
                    if not m.isfile():
                        kind = "link" if (m.issym() or m.islnk()) else "special file"
                        raise UnsafeArchive(f"archive member {m.name!r} is a {kind}")
                    members.append(_Member(parts, m.size, lambda m=m: tf.extractfile(m)))
                yield members
            return
    except _DATA_ERRORS as exc:
        raise CorruptArchive(f"{path.name} is truncated or damaged ({exc or type(exc).__name__})") from None
    except OSError as exc:
        if exc.errno is not None:  # a real I/O error (disk full, permissions), not damaged data
            raise
        raise CorruptArchive(f"{path.name} is truncated or damaged ({exc})") from None
    what = "a web page" if head.lstrip()[:1] == b"<" else "neither a zip nor a tar archive"
    raise CorruptArchive(f"{path.name} is {what} ({path.stat().st_size:,} bytes)")


def _corpus_root(members: list[_Member]) -> tuple[str, ...]:
    """The folder inside the archive that holds the corpus folders (`external_corpus/` in the official zip)."""
    roots: Counter[tuple[str, ...]] = Counter()
    for m in members:
        for i, p in enumerate(m.parts[:-1]):
            if p in CORPUS_DIRS:
                roots[m.parts[:i]] += 1
                break
    if not roots:
        raise CorruptArchive(
            f"the archive holds none of the ToolQA corpus folders ({', '.join(CORPUS_DIRS)}): is it the external corpus?"
        )
    return roots.most_common(1)[0][0]


def unpack(
    archive: Path, data_dir: Path, *, max_bytes: int = MAX_UNPACKED_BYTES, progress: bool = True
) -> dict[str, dict]:
    """Unpack the corpus archive into `data_dir/external_corpus/`; return {rel path: {size, sha256}}.

    Members are written into `data_dir/.external_corpus.unpacking/` first; only when all of them are
    written are the corpus folders moved into place (replacing folders of the same name).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / ".external_corpus.unpacking"
    if staging.exists():
        shutil.rmtree(staging)
    written: dict[str, dict] = {}
    try:
        with _open_archive(archive) as members:
            root = _corpus_root(members)
            keep = [m for m in members if m.parts[: len(root)] == root and len(m.parts) > len(root)]
            if len(keep) > MAX_MEMBERS:
                raise UnsafeArchive(f"the archive has {len(keep):,} files, over the cap of {MAX_MEMBERS:,}")
            total = sum(m.size for m in keep)
            if total > max_bytes:
                raise UnsafeArchive(
                    f"the archive would unpack to {_gib(total)}, over the cap of {_gib(max_bytes)} (--max-size)"
                )
            free = shutil.disk_usage(data_dir).free
            if total > free:
                raise DownloadError(
                    f"unpacking needs {_gib(total)} free in {data_dir}; only {_gib(free)} is free"
                )
            staging.mkdir()
            base = staging.resolve()
            with _bar(total, "unpacking", progress) as bar:
                for m in keep:
                    rel = m.parts[len(root) :]
                    target = staging.joinpath(*rel)
                    if base not in target.resolve().parents:
                        raise UnsafeArchive(
                            f"archive member {'/'.join(m.parts)!r} resolves outside the destination"
                        )
                    written["external_corpus/" + "/".join(rel)] = _write_member(m, target, bar)
        final = data_dir / "external_corpus"
        final.mkdir(exist_ok=True)
        for entry in sorted(staging.iterdir()):
            dst = final / entry.name
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            elif dst.exists() or dst.is_symlink():
                dst.unlink()
            os.replace(entry, dst)
        staging.rmdir()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return written


def _write_member(m: _Member, target: Path, bar) -> dict:
    h, n = hashlib.sha256(), 0
    name = "/".join(m.parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with m.open() as src, open(target, "xb") as dst:
            while chunk := src.read(_CHUNK):
                n += len(chunk)
                if n > m.size:
                    raise UnsafeArchive(f"archive member {name!r} holds more bytes than its header declares")
                h.update(chunk)
                dst.write(chunk)
                bar.update(len(chunk))
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise UnsafeArchive(f"archive member {name!r} collides with another member") from None
    except _DATA_ERRORS as exc:
        raise CorruptArchive(f"archive member {name!r} is damaged ({exc or type(exc).__name__})") from None
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise CorruptArchive(f"archive member {name!r} is damaged ({exc})") from None
    if n != m.size:
        raise CorruptArchive(f"archive member {name!r} ends after {n:,} of {m.size:,} bytes")
    return {"size": n, "sha256": h.hexdigest()}


# --- the whole job ---------------------------------------------------------------------------------


def download(
    dest: str | os.PathLike,
    *,
    url: str = CORPUS_URL,
    archive: str | os.PathLike | None = None,
    sha256: str | None = None,
    questions: bool = True,
    questions_url: str = QUESTIONS_URL,
    question_files: dict[str, str] | None = None,
    force: bool = False,
    keep_archive: bool = False,
    max_bytes: int = MAX_UNPACKED_BYTES,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
    progress: bool = True,
    say: Callable[[str], None] = log.info,
) -> DownloadReport:
    """Fetch (or check) the official ToolQA data under `dest`; see the module docstring.

    `archive` unpacks a corpus archive already on disk instead of downloading one (it is never moved
    or deleted). `sha256` pins the archive's digest; without it the digest recorded by the first
    download is the reference. `force` downloads and unpacks again even when the files check out.
    `question_files` maps `{easy,hard}/<file>` to its sha256 (default: the pinned official files).
    """
    dest = Path(dest)
    data = dest / "data"
    data.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(data)
    report = DownloadReport(dest=dest)
    opts = dict(retries=retries, timeout=timeout, backoff=backoff, progress=progress, client=_Http(timeout))

    recorded = {k: v for k, v in manifest["files"].items() if k.startswith("external_corpus/")}
    if recorded and not force and archive is None:
        had = (manifest.get("archive") or {}).get("sha256")
        if sha256 and had and sha256.lower() != had:
            raise DownloadError(
                f"the corpus here was unpacked from an archive with sha256 {had}, not the --sha256 given; "
                "run again with --force to replace it"
            )
        problems = check_files(data, recorded, progress)
        if problems:
            raise DownloadError(
                f"{len(problems)} corpus file(s) differ from {MANIFEST_NAME} ({problems[0]}); "
                "run again with --force to download and unpack the corpus afresh"
            )
        report.archive_sha256 = (manifest.get("archive") or {}).get("sha256")
        report.corpus_files = len(recorded)
        say(f"corpus: already downloaded; {len(recorded)} files match the sha256 recorded in {MANIFEST_NAME}")
    else:
        _get_corpus(dest, data, manifest, report, url=url, archive=archive, sha256=sha256, force=force,
                    keep_archive=keep_archive, max_bytes=max_bytes, say=say, **opts)  # fmt: skip

    if questions:
        _get_questions(data, manifest, report, questions_url, question_files or QUESTION_SHA256,
                       force=force, say=say, **opts)  # fmt: skip
    return report


def _get_corpus(
    dest, data, manifest, report, *, url, archive, sha256, force, keep_archive, max_bytes, say, **opts
):
    ours = archive is None
    path = dest / ARCHIVE_NAME if ours else Path(archive)
    if ours:
        if force:
            for p in (path, path.with_name(path.name + ".part")):
                p.unlink(missing_ok=True)
        if path.is_file():
            say(f"corpus: using the archive already downloaded at {path}")
        else:
            say(f"corpus: downloading {url}")
            try:
                fetch(url, path, max_bytes=max_bytes, label="external corpus", **opts)
            except DownloadError as exc:
                raise DownloadError(
                    f"{exc} (or fetch the archive by other means and pass --archive FILE)"
                ) from None
    elif not path.is_file():
        raise DownloadError(f"--archive {path}: no such file")

    digest = sha256_file(path, opts["progress"], "sha256 of the archive")
    expected = (sha256 or (manifest.get("archive") or {}).get("sha256") or "").lower()
    if expected and digest != expected:
        source = "--sha256" if sha256 else f"the first download (recorded in {MANIFEST_NAME})"
        kept = f"kept it as {_set_aside(path)}; run the same command again to download it afresh" if ours else (
            "check the file or pass the --sha256 it should have")  # fmt: skip
        raise DownloadError(
            f"checksum mismatch: the archive has sha256 {digest}, {source} says {expected}; {kept}"
            + (
                "; if the published archive has changed, pass --sha256 with its new digest"
                if ours and not sha256
                else ""
            )
        )
    say(f"corpus: archive sha256 {digest} " + ("matches" if expected else "recorded (first download)"))

    try:
        files = unpack(path, data, max_bytes=max_bytes, progress=opts["progress"])
    except (CorruptArchive, UnsafeArchive) as exc:
        if ours:
            bad = _set_aside(path)
            retry = "run the same command again to download it afresh" if isinstance(exc, CorruptArchive) else (
                "this archive cannot be used; use --url with another source")  # fmt: skip
            raise type(exc)(f"{exc}; nothing was unpacked; kept the archive as {bad}; {retry}") from None
        raise type(exc)(f"{exc}; nothing was unpacked") from None

    previous = manifest.get("archive") or {}
    manifest["archive"] = {
        "source": url if ours else str(path.resolve()),
        "size": path.stat().st_size,
        "sha256": digest,
        "recorded_at": previous["recorded_at"]
        if previous.get("sha256") == digest and previous.get("recorded_at")
        else datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("external_corpus/")}
    manifest["files"].update(files)
    _save_manifest(data, manifest)
    report.archive_sha256, report.corpus_files = digest, len(files)
    say(f"corpus: unpacked {len(files)} files into {data / 'external_corpus'}")
    if ours and not keep_archive:
        path.unlink()
    elif ours:
        report.notes.append(f"the archive is kept at {path}")


def _get_questions(data, manifest, report, base_url, wanted: dict[str, str], *, force, say, **opts):
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    fetched = 0
    for rel, digest in sorted(wanted.items()):
        target = data / "questions" / rel
        if force or not target.is_file() or sha256_file(target) != digest:
            target.unlink(missing_ok=True)
            fetch(base_url + rel, target, label=rel, **{**opts, "progress": False})
            got = sha256_file(target)
            if got != digest:
                bad = _set_aside(target)
                raise DownloadError(
                    f"checksum mismatch: questions/{rel} has sha256 {got}, the official file has {digest}; "
                    f"kept it as {bad}; run the same command again, or check --questions-url"
                )
            fetched += 1
        manifest["files"]["questions/" + rel] = {"size": target.stat().st_size, "sha256": digest}
    _save_manifest(data, manifest)
    report.question_files = len(wanted)
    say(
        f"questions: {fetched} downloaded, {len(wanted) - fetched} already there; all match the official sha256"
    )
