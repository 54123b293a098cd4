"""Parse files in a separate process with a memory cap and a timeout.

One bad file (a zip bomb, a PDF with 100,000 pages, a parser that loops) must not take the
machine's memory or hold the ingest lock for minutes. The parent sends each file to one
long-lived child process (`python -m ingest.worker`), reused across files and batches so
the parsers are imported once; the child caps its own address space (RLIMIT_AS) before it
imports anything heavy. A file that needs more memory fails inside the child with a clear
reason; a file that takes longer than the timeout gets the child killed and a new one
started for the next file. Either way the file is reported and the batch goes on.

Messages are length-prefixed JSON (no pickle: the parent never unpickles what a process
that has just parsed hostile input sends back). The child speaks on a private copy of its
stdout; fd 1 is pointed at stderr so a library that prints cannot corrupt the protocol.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from ingest.limits import ParseLimits
from kb import errors
from kb.types import Block, BlockKind, PageConfidence, ParsedDocument

logger = logging.getLogger(__name__)

_LENGTH = struct.Struct(">Q")
_REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- codec


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def encode_document(document: ParsedDocument) -> dict[str, Any]:
    raw = dataclasses.asdict(document)
    for key in ("effective_date", "expiry_date"):
        value = raw[key]
        raw[key] = value.isoformat() if value else None
    return raw


def decode_document(raw: dict[str, Any]) -> ParsedDocument:
    blocks = tuple(
        Block(
            kind=BlockKind(b["kind"]),
            text=str(b["text"]),
            page=b["page"],
            level=int(b["level"]),
            rows=tuple(tuple(str(cell) for cell in row) for row in b["rows"]),
        )
        for b in raw["blocks"]
    )
    return ParsedDocument(
        source_name=str(raw["source_name"]),
        format=str(raw["format"]),
        title=str(raw["title"]),
        blocks=blocks,
        language=str(raw["language"]),
        page_count=raw["page_count"],
        effective_date=_date(raw["effective_date"]),
        expiry_date=_date(raw["expiry_date"]),
        owner=raw["owner"],
        properties=tuple((str(k), str(v)) for k, v in raw["properties"]),
        ocr_pages=tuple(
            PageConfidence(int(p["page"]), float(p["confidence"])) for p in raw.get("ocr_pages", ())
        ),
    )


def _error_from(reply: dict[str, Any]) -> errors.KBError:
    """Rebuild the child's domain error by class name; anything else becomes a DocumentError."""
    cls = getattr(errors, str(reply.get("error")), None)
    if cls is None:
        from ingest import limits

        cls = getattr(limits, str(reply.get("error")), None)
    message = str(reply.get("message", "the parser failed"))
    if isinstance(cls, type) and issubclass(cls, errors.DocumentError):
        return cls(message)
    if isinstance(cls, type) and issubclass(cls, errors.KBError):
        return cls(message)
    return errors.DocumentError(message)


# ---------------------------------------------------------------------------- framing


def _write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)))
    stream.write(payload)


def _read_exact_blocking(stream: BinaryIO, size: int) -> bytes:
    parts = bytearray()
    while len(parts) < size:
        chunk = stream.read(size - len(parts))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        parts += chunk
    return bytes(parts)


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    parts = bytearray()
    while len(parts) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, min(size - len(parts), 1 << 20))
        if not chunk:
            raise EOFError("the parser process ended")
        parts += chunk
    return bytes(parts)


# ---------------------------------------------------------------------------- parent side


def ocr_allowance_seconds(data: bytes, name: str, limits: ParseLimits) -> float:
    """Extra time for a file whose pages may be scans: OCR takes seconds a page where a text
    layer takes milliseconds, so one fixed timeout would either stop real scanned PDFs or
    let a looping parser run for long. Estimated from the bytes, nothing parsed here."""
    from ingest.ocr import ocr_allowance_pages
    from ingest.sniff import SUPPORTED_EXTENSIONS

    fmt = SUPPORTED_EXTENSIONS.get(Path(name).suffix.lower(), "")
    pages = min(ocr_allowance_pages(data, fmt), limits.max_pdf_pages)
    return pages * limits.ocr_seconds_per_page


class ParserWorker:
    """One child process that parses files; restarted after a crash, a timeout or a memory error.

    `parse` sends a file and waits. `submit` then `collect` let the caller do other work (embed
    the previous file) while the child parses the next one; one file at a time is in flight.
    Hold `hold()` around a submit/collect pair so no other thread's file slips in between.
    """

    def __init__(self, memory_mb: int, timeout_seconds: float) -> None:
        if memory_mb <= 0:
            raise ValueError(
                f"memory_mb must be greater than 0. Currently, memory_mb is {memory_mb}"
            )
        if timeout_seconds <= 0:
            raise ValueError(
                f"timeout_seconds must be greater than 0. Currently, it is {timeout_seconds}"
            )
        self.memory_mb = memory_mb
        self.timeout_seconds = timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._deadline: float | None = None  # set while a file is in flight
        self._pending_error: errors.DocumentError | None = None  # a send that failed
        self._allowance = 0.0  # seconds added to the timeout for the file's scanned pages
        self.started = 0  # how many child processes were started (for tests and logs)

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH", "")) if p)
        env.setdefault("DO_NOT_TRACK", "1")
        env.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(_REPO),
        )
        self.started += 1
        logger.debug("parser worker %d started (memory cap %d MB)", process.pid, self.memory_mb)
        return process

    def _stop(self) -> None:
        process, self._process = self._process, None
        self._deadline = None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def hold(self) -> threading.RLock:
        """The worker for this thread only, while the `with` block lasts."""
        return self._lock

    @property
    def busy(self) -> bool:
        return self._deadline is not None

    def _failed(self, code: int | None) -> errors.DocumentError:
        return errors.DocumentError(
            f"the parser process failed on this file (exit code {code}); it may need "
            f"more than the {self.memory_mb} MB memory limit (KB_PARSE_MEMORY_MB)"
        )

    def submit(self, data: bytes, name: str, *, max_bytes: int, limits: ParseLimits) -> None:
        """Send a file to the child; `collect` gets its result (or the reason it failed)."""
        with self._lock:
            if self.busy:
                self.discard()
            if self._process is None or self._process.poll() is not None:
                self._stop()
                self._process = self._start()
            process = self._process
            assert process.stdin is not None
            request = {"name": name, "max_bytes": max_bytes, "limits": dataclasses.asdict(limits)}
            self._allowance = ocr_allowance_seconds(data, name, limits)
            self._deadline = time.monotonic() + self.timeout_seconds + self._allowance
            try:
                _write_frame(process.stdin, json.dumps(request).encode())
                _write_frame(process.stdin, data)
                process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError) as e:
                code = process.poll()
                self._stop()
                self._pending_error = self._failed(code)
                self._pending_error.__cause__ = e
                self._deadline = -1.0  # collect reports the failure
                return
            self._pending_error = None

    def collect(self) -> ParsedDocument:
        with self._lock:
            deadline = self._deadline
            if deadline is None:
                raise RuntimeError("collect() without submit()")
            if deadline < 0:
                self._deadline = None
                assert self._pending_error is not None
                raise self._pending_error
            process = self._process
            assert process is not None and process.stdout is not None
            try:
                fd = process.stdout.fileno()
                (size,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size, deadline))
                reply = json.loads(_read_exact(fd, size, deadline))
            except TimeoutError:
                self._stop()
                ocr = (
                    f" plus {self._allowance:g} s for pages that may need OCR "
                    "(KB_OCR_SECONDS_PER_PAGE)"
                    if self._allowance
                    else ""
                )
                raise errors.DocumentError(
                    f"parsing took longer than {self.timeout_seconds:g} s{ocr} and was stopped "
                    "(KB_PARSE_TIMEOUT_SECONDS)"
                ) from None
            except (EOFError, OSError, ValueError) as e:
                code = process.poll()
                self._stop()
                raise self._failed(code) from e
            self._deadline = None
            if reply.get("restart"):
                self._stop()  # the child may be damaged (out of memory): start afresh next time
            if "document" in reply:
                return decode_document(reply["document"])
            raise _error_from(reply)

    def discard(self) -> None:
        """Drop the file in flight: wait for it and forget the result."""
        with self._lock:
            if self.busy:
                with contextlib.suppress(errors.KBError):
                    self.collect()

    def parse(
        self, data: bytes, name: str, *, max_bytes: int, limits: ParseLimits
    ) -> ParsedDocument:
        """Parse in the child; a DocumentError says why not, whatever happened in there."""
        with self._lock:
            self.submit(data, name, max_bytes=max_bytes, limits=limits)
            return self.collect()


_shared: dict[tuple[int, float], ParserWorker] = {}
_shared_lock = threading.Lock()


def shared_worker(memory_mb: int, timeout_seconds: float) -> ParserWorker:
    """The process's worker for these limits, started on first use and ended at exit."""
    key = (memory_mb, timeout_seconds)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = ParserWorker(memory_mb, timeout_seconds)
        return _shared[key]


@atexit.register
def _close_shared() -> None:
    for worker in list(_shared.values()):
        worker.close()


# ---------------------------------------------------------------------------- child side


def _cap_memory(memory_mb: int) -> None:
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _handle(request: dict[str, Any], data: bytes) -> dict[str, Any]:
    from ingest.load import parse_bytes

    try:
        document = parse_bytes(
            data,
            str(request["name"]),
            max_bytes=int(request["max_bytes"]),
            limits=ParseLimits(**request["limits"]),
        )
        return {"document": encode_document(document)}
    except errors.KBError as e:
        return {"error": type(e).__name__, "message": str(e)}
    except MemoryError:
        return {
            "error": "DocumentError",
            "message": "parsing needs more memory than the limit allows (KB_PARSE_MEMORY_MB); "
            "the file is too large or built to exhaust memory",
            "restart": True,
        }
    except Exception as e:  # a parser bug: say what happened, keep serving the next file
        logging.getLogger(__name__).exception("unexpected error parsing %s", request.get("name"))
        return {"error": "DocumentError", "message": f"unexpected error: {type(e).__name__}: {e}"}


def main(argv: list[str]) -> int:
    _cap_memory(int(argv[0]))
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    requests = sys.stdin.buffer
    logging.basicConfig(level=logging.WARNING)
    while True:
        try:
            (size,) = _LENGTH.unpack(_read_exact_blocking(requests, _LENGTH.size))
            request = json.loads(_read_exact_blocking(requests, size))
            (size,) = _LENGTH.unpack(_read_exact_blocking(requests, _LENGTH.size))
            data = _read_exact_blocking(requests, size)
        except EOFError:
            return 0
        try:
            reply = _handle(request, data)
        except MemoryError:
            reply = {"error": "DocumentError", "message": "out of memory", "restart": True}
        del data
        payload = json.dumps(reply).encode()
        _write_frame(replies, payload)
        replies.flush()
        if reply.get("restart"):
            return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
