from pathlib import Path

import pytest

from matching.catalogue import load_initial_catalogue
from matching.work_phrases import load_work_phrases


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "phrases.csv"
    path.write_text("# a comment line\nverbs,objects,occupation_code\n" + rows, encoding="utf-8")
    return path


def test_every_verb_with_every_object_and_rows_without_verbs(tmp_path: Path) -> None:
    phrases = load_work_phrases(write(tmp_path, "带;看 ,小孩; 娃,4-10-01-06\n,进厂,6-25-03-00\n"))
    assert phrases == {"带小孩": "4-10-01-06", "带娃": "4-10-01-06", "看小孩": "4-10-01-06", "看娃": "4-10-01-06",
                       "进厂": "6-25-03-00"}


@pytest.mark.parametrize("rows", [
    "带,小孩,4-10-01\n",  # not an occupation code
    "带,,4-10-01-06\n",  # nothing to read
    "带,小孩,4-10-01-06\n带;看,小孩,4-03-02-01\n",  # one phrase, two trades
])
def test_a_malformed_table_is_refused(tmp_path: Path, rows: str) -> None:
    with pytest.raises(ValueError, match="work phrases"):
        load_work_phrases(write(tmp_path, rows))


def test_the_shipped_table_names_trades_of_the_shipped_catalogue_and_no_catalogue_word() -> None:
    # A phrase the catalogue already knows would never be read from the table (its names and aliases win), and a
    # code it does not offer would be dropped: either is a curation mistake.
    catalogue = load_initial_catalogue()
    offered = {entry.occupation_code for entry in catalogue.active_entries()}
    phrases = load_work_phrases()
    assert len(phrases) > 200
    assert {code for code in phrases.values()} <= offered
    assert [phrase for phrase in phrases if catalogue.code_for_word(phrase) is not None] == []
