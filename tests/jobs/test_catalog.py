"""JobCatalog: the kinds installed, found through real entry points (a distribution's metadata on sys.path)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from imagecache.config import load_config
from imagecache.jobs.catalog import JobCatalog


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install a distribution of job kinds (its metadata and module) for this test alone."""

    def install(entry_points: str, module: str) -> None:
        info = tmp_path / "testjobs-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: testjobs\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[imagecache.jobs]\n" + textwrap.dedent(entry_points))
        (tmp_path / "testjobs.py").write_text(textwrap.dedent(module))
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    sys.modules.pop("testjobs", None)


MODULE = """
    from imagecache.jobs import JobKind, JobResult

    good = JobKind(run=lambda query: JobResult("text/plain", b"ok"), timeout=7, retries=1, concurrency=3)
    not_a_kind = 42

    def configured(config):
        return JobKind(run=lambda query: JobResult("text/plain", b"ok"), default_ttl=config.default_ttl * 2)

    def broken(config):
        raise RuntimeError("cannot start")

    def slotless(config):
        return JobKind(run=lambda query: JobResult("text/plain", b"ok"), concurrency=0)
"""


def test_the_built_in_kinds_and_the_default_follow_the_kentik_credentials():
    without = JobCatalog.load(load_config(_env_file=None))
    assert (without.default, "chart" in without.kinds, "kentik" in without.kinds) == ("chart", True, False)
    with_kentik = JobCatalog.load(load_config(_env_file=None, kt_auth_email="me@example.com", kt_auth_token="t"))
    assert with_kentik.default == "kentik" and {"chart", "kentik"} <= set(with_kentik.kinds)
    assert with_kentik.settings()["kentik"].timeout == 4 * 60 + 3 * 10 + 30  # every attempt, its backoffs, storing


def test_a_package_kind_is_loaded_with_its_settings_and_its_broken_neighbours_left_out(installed, caplog):
    installed(
        """
        good = testjobs:good
        configured = testjobs:configured
        broken = testjobs:broken
        slotless = testjobs:slotless
        not-a-kind = testjobs:not_a_kind
        Bad.Name = testjobs:good
        """,
        MODULE,
    )
    catalog = JobCatalog.load(load_config(_env_file=None, default_ttl=100))
    settings = catalog.settings()
    assert {"good", "configured"} <= set(settings)
    assert not {"broken", "slotless", "not-a-kind", "Bad.Name"} & set(settings)
    good = settings["good"]
    assert (good.timeout, good.retries, good.concurrency, good.default_ttl) == (7, 1, 3, 100)
    assert settings["configured"].default_ttl == 200
    assert "broken" in caplog.text and "not a JobKind" in caplog.text and "is not a job name" in caplog.text
    assert "concurrency must be an integer of at least 1, not 0" in caplog.text


def test_jobs_exclude_leaves_an_installed_kind_out(installed):
    installed("good = testjobs:good\n", MODULE)
    assert "good" not in JobCatalog.load(load_config(_env_file=None, jobs_exclude="good, other")).kinds
