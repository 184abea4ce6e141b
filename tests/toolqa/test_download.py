"""`seer-env data toolqa download` against a loopback file server (no real network).

The served archive is the ToolQA test fixture's corpus zipped as the official archive is
(a top-level `external_corpus/` folder); the served question files are the fixture's.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from seer_env.envs.toolqa import download as dl
from seer_env.envs.toolqa.cli import verify_dir
from seer_env.envs.toolqa.download import CorruptArchive, DownloadError, UnsafeArchive
from tests.toolqa.file_server import DRIVE_QUOTA_PAGE, DRIVE_UUID, FileServer, Route


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _corpus_files(root: Path) -> dict[str, bytes]:
    base = root / "data" / "external_corpus"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _zip(files: dict[str, bytes], prefix: str = "external_corpus/", method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr(prefix, b"")  # the folder entry, as zip tools write it
        for rel, data in files.items():
            zf.writestr(prefix + rel, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def corpus(toolqa_root) -> dict[str, bytes]:
    return _corpus_files(toolqa_root)


@pytest.fixture(scope="module")
def archive(corpus) -> bytes:
    return _zip(corpus)


@pytest.fixture(scope="module")
def questions(toolqa_root) -> dict[str, bytes]:
    base = toolqa_root / "data" / "questions"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.jsonl"))}


@pytest.fixture
def server(archive, questions):
    with FileServer() as srv:
        srv.routes["/corpus.zip"] = Route(archive)
        for rel, data in questions.items():
            srv.routes["/questions/" + rel] = Route(data, content_type="text/plain; charset=utf-8")
        yield srv


@pytest.fixture
def fetch_into(server, questions):
    """download() pointed at the loopback server, quiet, without back-off sleeps."""

    def run(dest: Path, **kw):
        kw.setdefault("url", server.url("/corpus.zip"))
        kw.setdefault("questions_url", server.url("/questions/"))
        kw.setdefault("question_files", {rel: _sha(b) for rel, b in questions.items()})
        kw.setdefault("retries", 2)
        kw.setdefault("timeout", 10)
        return dl.download(dest, backoff=0, progress=False, **kw)

    return run


def _assert_corpus(dest: Path, corpus: dict[str, bytes]) -> None:
    assert _corpus_files(dest) == corpus


def _assert_nothing_unpacked(dest: Path) -> None:
    data = dest / "data"
    assert not (data / "external_corpus").exists()
    assert not (data / ".external_corpus.unpacking").exists()
    manifest = dl.load_manifest(data)
    assert not any(k.startswith("external_corpus/") for k in manifest["files"])


# --- the whole path ------------------------------------------------------------------------------


def test_full_download_unpacks_the_official_layout_records_checksums_and_verifies(
    tmp_path, fetch_into, server, archive, corpus, questions
):
    dest = tmp_path / "ToolQA"
    rep = fetch_into(dest)

    _assert_corpus(dest, corpus)
    for rel, data in questions.items():
        assert (dest / "data" / "questions" / rel).read_bytes() == data
    checked = verify_dir(dest)
    assert (checked["missing"], checked["problems"]) == ([], [])

    manifest = json.loads((dest / "data" / dl.MANIFEST_NAME).read_text())
    assert manifest["archive"]["sha256"] == _sha(archive) == rep.archive_sha256
    assert manifest["archive"]["size"] == len(archive)
    for rel, data in corpus.items():
        assert manifest["files"]["external_corpus/" + rel] == {"size": len(data), "sha256": _sha(data)}
    # the archive and the part file are gone; only the data stays
    assert sorted(p.name for p in dest.iterdir()) == ["data"]

    # a later run checks the files against the manifest and fetches nothing
    n = len(server.seen)
    fetch_into(dest)
    assert len(server.seen) == n

    # ... and notices a file that changed since
    flights = dest / "data" / "external_corpus" / "flights" / "Combined_Flights_2022.csv"
    flights.write_bytes(flights.read_bytes().replace(b"ATL", b"XXX", 1))
    with pytest.raises(DownloadError, match=r"flights/Combined_Flights_2022\.csv differs.*--force"):
        fetch_into(dest)
    fetch_into(dest, force=True)
    _assert_corpus(dest, corpus)


def test_cli_download_prints_verify_and_exits_zero(tmp_path, server, questions, monkeypatch, capsys):
    from seer_env.cli import main

    monkeypatch.setattr(dl, "QUESTION_SHA256", {rel: _sha(b) for rel, b in questions.items()})
    dest = tmp_path / "cli"
    argv = ["data", "toolqa", "download", "--dest", str(dest), "--url", server.url("/corpus.zip"),
            "--questions-url", server.url("/questions/"), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "complete ToolQA folder" in out
    assert f"export TOOLQA_DATA_DIR={dest.resolve()}" in out


def test_cli_network_error_is_one_line_without_traceback(tmp_path, server, capsys):
    from seer_env.cli import main

    argv = ["data", "toolqa", "download", "--dest", str(tmp_path / "x"), "--url", server.url("/nowhere.zip"),
            "--quiet", "--retries", "0"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "error: HTTP 404" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_local_errors_are_one_line(tmp_path, server, capsys):
    from seer_env.cli import main

    (tmp_path / "file").write_text("not a folder")
    argv = [
        "data",
        "toolqa",
        "download",
        "--dest",
        str(tmp_path / "file"),
        "--url",
        server.url("/corpus.zip"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreachable_host_is_a_clear_error_after_retries(tmp_path, fetch_into):
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        DownloadError,
        match=r"failed after 2 tries \(cannot reach 127\.0\.0\.1:\d+.*run the same command again, or",
    ):
        fetch_into(tmp_path / "d", url=f"http://127.0.0.1:{port}/corpus.zip", retries=1)


# --- resume --------------------------------------------------------------------------------------


def test_dropped_connection_resumes_with_range(tmp_path, fetch_into, server, archive, corpus):
    cut = len(archive) // 3
    server.routes["/corpus.zip"].drop_after = [cut]
    fetch_into(tmp_path / "d")
    _assert_corpus(tmp_path / "d", corpus)
    first, second = server.requests_for("/corpus.zip")
    assert (first.range, first.sent) == (None, cut)
    assert (second.range, second.status, second.sent) == (f"bytes={cut}-", 206, len(archive) - cut)


def test_existing_part_file_resumes_and_a_failed_run_keeps_it(tmp_path, fetch_into, server, archive, corpus):
    dest = tmp_path / "d"
    dest.mkdir()
    part = dest / (dl.ARCHIVE_NAME + ".part")
    part.write_bytes(archive[:1000])
    # every try drops: the run fails, says how to go on, and keeps what it got
    server.routes["/corpus.zip"].drop_after = [500, 700, 900]
    with pytest.raises(
        DownloadError, match=r"3 tries.*bytes are kept in .*\.part: run the same command again"
    ):
        fetch_into(dest)
    assert part.read_bytes() == archive[: 1000 + 500 + 700 + 900]
    assert [s.range for s in server.requests_for("/corpus.zip")] == [
        "bytes=1000-",
        "bytes=1500-",
        "bytes=2200-",
    ]

    fetch_into(dest)  # the next run picks up where that one stopped
    last = server.requests_for("/corpus.zip")[-1]
    assert (last.range, last.sent) == ("bytes=3100-", len(archive) - 3100)
    _assert_corpus(dest, corpus)
    assert not part.exists()


def test_server_without_range_support_restarts_cleanly(tmp_path, fetch_into, server, archive, corpus):
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / (dl.ARCHIVE_NAME + ".part")).write_bytes(b"stale bytes of some earlier file" * 40)
    route = server.routes["/corpus.zip"]
    route.ranges = False
    route.drop_after = [2000]  # and a drop on the way: the retry starts from zero again
    rep = fetch_into(dest)
    assert rep.archive_sha256 == _sha(archive)
    _assert_corpus(dest, corpus)
    seen = server.requests_for("/corpus.zip")
    assert [(s.range, s.status) for s in seen] == [("bytes=1280-", 200), ("bytes=2000-", 200)]


def test_part_file_already_complete_gets_416_and_is_used(tmp_path, fetch_into, server, archive, corpus):
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / (dl.ARCHIVE_NAME + ".part")).write_bytes(archive)
    fetch_into(dest)
    assert [s.status for s in server.requests_for("/corpus.zip")] == [416]
    _assert_corpus(dest, corpus)


# --- bad archives --------------------------------------------------------------------------------


def test_truncated_archive_is_a_clear_error_and_nothing_looks_unpacked(
    tmp_path, fetch_into, server, archive, corpus
):
    dest = tmp_path / "d"
    # the server itself serves a cut file (its Content-Length agrees), so the transfer looks complete
    server.routes["/corpus.zip"] = Route(archive[: len(archive) * 2 // 3])
    with pytest.raises(
        CorruptArchive, match=r"truncated or damaged.*nothing was unpacked.*\.bad; run the same"
    ):
        fetch_into(dest)
    _assert_nothing_unpacked(dest)
    assert (dest / (dl.ARCHIVE_NAME + ".bad")).stat().st_size == len(archive) * 2 // 3
    assert not (dest / dl.ARCHIVE_NAME).exists()

    server.routes["/corpus.zip"] = Route(archive)  # fixed upstream: the same command now succeeds
    fetch_into(dest)
    _assert_corpus(dest, corpus)


def test_damaged_member_is_caught_and_staging_removed(tmp_path, corpus):
    data = _zip(corpus, method=zipfile.ZIP_STORED)
    payload = corpus["coffee/coffee_price.csv"]
    at = data.index(payload) + len(payload) // 2
    damaged = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    path = tmp_path / "bad.zip"
    path.write_bytes(damaged)
    with pytest.raises(CorruptArchive, match=r"coffee_price\.csv.*damaged.*CRC"):
        dl.unpack(path, tmp_path / "data", progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == []


def test_second_download_with_other_bytes_is_a_checksum_mismatch(
    tmp_path, fetch_into, server, archive, corpus
):
    dest = tmp_path / "d"
    fetch_into(dest)
    other = _zip({**corpus, "coffee/coffee_price.csv": b"Date,Open\n2000-01-03,1\n"})
    server.routes["/corpus.zip"] = Route(other)
    with pytest.raises(
        DownloadError, match=r"checksum mismatch.*recorded in download-manifest\.json.*\.bad; run the"
    ):
        fetch_into(dest, force=True)
    assert (dest / (dl.ARCHIVE_NAME + ".bad")).read_bytes() == other
    _assert_corpus(dest, corpus)  # the good data stays as it was
    assert dl.load_manifest(dest / "data")["archive"]["sha256"] == _sha(archive)

    # a published change is accepted only when pinned explicitly, and replaces the corpus only with --force
    with pytest.raises(DownloadError, match=r"unpacked from an archive with sha256 .*--force"):
        fetch_into(dest, sha256=_sha(other))
    fetch_into(dest, force=True, sha256=_sha(other))
    assert (
        (dest / "data" / "external_corpus" / "coffee" / "coffee_price.csv")
        .read_bytes()
        .startswith(b"Date,Open\n")
    )
    assert dl.load_manifest(dest / "data")["archive"]["sha256"] == _sha(other)


def test_question_file_checksum_mismatch(tmp_path, fetch_into, server, questions):
    rel = "easy/flight-easy.jsonl"
    server.routes["/questions/" + rel] = Route(questions[rel] + b'{"qid": "x"}\n')
    with pytest.raises(DownloadError, match=r"checksum mismatch: questions/easy/flight-easy\.jsonl.*\.bad"):
        fetch_into(tmp_path / "d")
    assert not (tmp_path / "d" / "data" / "questions" / rel).exists()


def test_a_web_page_instead_of_the_archive_is_named(tmp_path):
    path = tmp_path / "page.zip"
    path.write_bytes(b"<!DOCTYPE html><html>sign in</html>")
    with pytest.raises(CorruptArchive, match="is a web page"):
        dl.unpack(path, tmp_path / "data", progress=False)


# --- hostile archives ----------------------------------------------------------------------------


def _zip_with(name: str, data: bytes = b"pwned", *, symlink: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("external_corpus/coffee/coffee_price.csv", b"Date\n")
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        with warnings.catch_warnings():  # a duplicate name is one of the hostile cases
            warnings.simplefilter("ignore", UserWarning)
            zf.writestr(info, data)
    return buf.getvalue()


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ok = tarfile.TarInfo("external_corpus/coffee/coffee_price.csv")
        ok.size = 5
        tf.addfile(ok, io.BytesIO(b"Date\n"))
        member.size = len(data) if member.isfile() else 0
        tf.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buf.getvalue()


def _tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = kind, linkname
    return m


HOSTILE = {
    "zip ..": (_zip_with("external_corpus/../../evil.txt"), "climbs out"),
    "zip leading ..": (_zip_with("../evil.txt"), "climbs out"),
    "zip absolute": (_zip_with("/tmp/evil.txt"), "absolute path"),
    "zip drive letter": (_zip_with("C:/evil.txt"), "absolute path"),
    "zip backslashes": (_zip_with("external_corpus\\..\\..\\evil.txt"), "unusable name"),
    "zip symlink": (_zip_with("external_corpus/coffee/link", b"/etc/passwd", symlink=True), "symbolic link"),
    "zip duplicate": (_zip_with("external_corpus/coffee/coffee_price.csv"), "appears twice|collides"),
    "tar ..": (_tar_with(_tar_member("external_corpus/../../evil.txt"), b"pwned"), "climbs out"),
    "tar absolute": (_tar_with(_tar_member("/tmp/evil.txt"), b"pwned"), "absolute path"),
    "tar symlink": (_tar_with(_tar_member("external_corpus/coffee/l", tarfile.SYMTYPE, "/etc")), "is a link"),
    "tar hardlink": (
        _tar_with(_tar_member("external_corpus/coffee/h", tarfile.LNKTYPE, "/etc/passwd")),
        "is a link",
    ),
    "tar device": (_tar_with(_tar_member("external_corpus/coffee/d", tarfile.CHRTYPE)), "special file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_and_nothing_is_written(tmp_path, case):
    blob, why = HOSTILE[case]
    path = tmp_path / "in" / "a.archive"
    path.parent.mkdir()
    path.write_bytes(blob)
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(UnsafeArchive, match=why):
        dl.unpack(path, dest / "data", progress=False)
    _assert_nothing_unpacked(dest)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert written == {"in", "in/a.archive", "deep", "deep/dest", "deep/dest/data"}


def test_hostile_download_is_set_aside_with_advice(tmp_path, fetch_into, server):
    server.routes["/corpus.zip"] = Route(_zip_with("../../evil.txt"))
    with pytest.raises(
        UnsafeArchive, match=r"climbs out.*nothing was unpacked.*\.bad; this archive cannot be used"
    ):
        fetch_into(tmp_path / "d")
    assert (tmp_path / "d" / (dl.ARCHIVE_NAME + ".bad")).exists()
    assert not (tmp_path / "evil.txt").exists()


def test_size_cap(tmp_path, archive, corpus):
    path = tmp_path / "a.zip"
    path.write_bytes(archive)
    cap = sum(len(b) for b in corpus.values()) - 1
    with pytest.raises(UnsafeArchive, match=r"over the cap.*--max-size"):
        dl.unpack(path, tmp_path / "data", max_bytes=cap, progress=False)
    _assert_nothing_unpacked(tmp_path)


# --- other archive shapes and sources ------------------------------------------------------------


@pytest.mark.parametrize("layout", ["data/external_corpus/", "", "ToolQA/data/external_corpus/"])
def test_archive_root_is_found_and_macos_noise_skipped(tmp_path, corpus, layout):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, b in corpus.items():
            zf.writestr(layout + rel, b)
        zf.writestr("__MACOSX/external_corpus/._coffee", b"\x00\x05\x16\x07")
        zf.writestr(layout + "coffee/.DS_Store", b"\x00")
    path = tmp_path / "a.zip"
    path.write_bytes(buf.getvalue())
    files = dl.unpack(path, tmp_path / "data", progress=False)
    assert set(files) == {"external_corpus/" + rel for rel in corpus}
    _assert_corpus(tmp_path, corpus)


def test_tar_gz_mirror_and_local_archive_option(tmp_path, fetch_into, corpus):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for rel, b in corpus.items():
            info = tarfile.TarInfo("external_corpus/" + rel)
            info.size = len(b)
            tf.addfile(info, io.BytesIO(b))
    local = tmp_path / "downloaded-by-hand.tar.gz"
    local.write_bytes(buf.getvalue())
    fetch_into(tmp_path / "d", archive=local)
    _assert_corpus(tmp_path / "d", corpus)
    assert local.read_bytes() == buf.getvalue()  # a user's archive is never moved or deleted


def test_drive_virus_scan_page_is_followed(tmp_path, fetch_into, server, archive, corpus):
    server.routes["/download"] = Route(archive, drive_page=True)
    url = server.url("/download?id=FILEID&export=download")
    fetch_into(tmp_path / "d", url=url, keep_archive=True)
    _assert_corpus(tmp_path / "d", corpus)
    assert (tmp_path / "d" / dl.ARCHIVE_NAME).read_bytes() == archive
    page, file = server.requests_for("/download")
    assert page.query == {"id": "FILEID", "export": "download"}
    assert file.query == {"id": "FILEID", "export": "download", "confirm": "t", "uuid": DRIVE_UUID}


def test_drive_quota_page_says_what_to_do(tmp_path, fetch_into, server):
    server.routes["/download"] = Route(DRIVE_QUOTA_PAGE.encode(), content_type="text/html; charset=utf-8")
    with pytest.raises(DownloadError, match=r"web page.*Too many users have viewed.*--archive FILE"):
        fetch_into(tmp_path / "d", url=server.url("/download?id=F&export=download"))
    assert not (tmp_path / "d" / dl.ARCHIVE_NAME).exists()


def test_pinned_question_files_are_the_ones_verify_expects(tmp_path):
    """Every question file `verify` looks for is pinned, under its released name."""
    root = tmp_path / "q"
    for rel in dl.QUESTION_SHA256:
        p = root / "data" / "questions" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")
    assert not [m for m in verify_dir(root)["missing"] if "/questions/" in m]
