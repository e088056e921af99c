"""Process-wide logging: each line carries what an operator searches by, and no format asks a record for what
records leave out."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator

import pytest

from imagecache.domain.request_context import request_id
from imagecache.ops.logs import QUIETED, TEXT, JsonFormatter, setup_logging

# what a record leaves out once setup_logging has run: the caller, the thread, multiprocessing's process name
LEFT_OUT = {"pathname", "filename", "module", "funcName", "lineno", "thread", "threadName", "processName"}


@pytest.fixture
def process_logging() -> Iterator[None]:
    """setup_logging changes the whole process: put everything back. pytest's handlers are taken off first, so the
    setup's `force` does not close them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    flags = (logging._srcfile, logging.logThreads, logging.logMultiprocessing)
    quieted = {name: logging.getLogger(name).level for name in QUIETED}
    root.handlers[:] = []
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging._srcfile, logging.logThreads, logging.logMultiprocessing = flags
    for name, was in quieted.items():
        logging.getLogger(name).setLevel(was)


def _line(capsys: pytest.CaptureFixture[str], log_format: str) -> str:
    setup_logging(False, log_format)
    token = request_id.set("req-42")
    try:
        logging.getLogger("imagecache.test").info("request %s: new", "abc")
    finally:
        request_id.reset(token)
    return capsys.readouterr().err.strip()


@pytest.mark.usefixtures("process_logging")
def test_a_text_line_names_the_level_the_process_and_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    line = _line(capsys, "text")
    assert re.fullmatch(rf"\S+ \S+ INFO +{os.getpid()} imagecache\.test \[req-42\]: request abc: new", line), line


@pytest.mark.usefixtures("process_logging")
def test_a_json_line_is_one_object_with_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    entry = json.loads(_line(capsys, "json"))
    assert entry.pop("time")
    assert entry == {
        "level": "INFO",
        "logger": "imagecache.test",
        "process": os.getpid(),
        "request_id": "req-42",
        "message": "request abc: new",
    }


@pytest.mark.usefixtures("process_logging")
def test_records_leave_out_what_no_format_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """A format that printed the caller or the thread would print placeholders: the lookups are off."""
    assert not set(re.findall(r"%\((\w+)\)", TEXT)) & LEFT_OUT
    record = logging.LogRecord("imagecache.test", logging.INFO, __file__, 1, "x", None, None)
    assert not set(json.loads(JsonFormatter().format(record))) & LEFT_OUT
    setup_logging(False)
    records: list[logging.LogRecord] = []
    logger = logging.getLogger("imagecache.test")
    logger.addHandler(kept := _Keep(records))
    try:
        logger.info("x")
    finally:
        logger.removeHandler(kept)
    (made,) = records
    assert (made.funcName, made.lineno, made.threadName, made.processName) == ("(unknown function)", 0, None, None)


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)
