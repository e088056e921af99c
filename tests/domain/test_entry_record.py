"""Where an entry's results are stored: in one of the folders the store makes as it opens."""

from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.entry_record import RESULT_FOLDERS, EntryRecord
from imagecache_client.ids import ENTRY_ID_PATTERN


@given(st.from_regex(ENTRY_ID_PATTERN, fullmatch=True))
def test_every_entry_s_results_are_in_a_folder_made_in_advance(entry_id):
    folder = EntryRecord.attempt_key(entry_id).rpartition("/")[0]
    assert folder in RESULT_FOLDERS
