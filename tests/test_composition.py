"""The composition root: what it builds is what the settings say."""

import io
from pathlib import Path

from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.domain.entry_record import RESULT_FOLDERS


def test_the_filesystem_store_it_builds_has_every_result_folder_made(redis_url: str, prefix: str, tmp_path: Path):
    config = load_config(redis_url=redis_url, redis_prefix=prefix, cache_path=str(tmp_path / "cache"), _env_file=None)
    blobs = Components(config).blobs
    made = {folder for folder in RESULT_FOLDERS if (tmp_path / "cache" / folder).is_dir()}
    assert made == set(RESULT_FOLDERS)
    assert blobs.put(RESULT_FOLDERS[0] + "/one", io.BytesIO(b"x"), "image/png").size == 1
