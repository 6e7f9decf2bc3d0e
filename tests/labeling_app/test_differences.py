"""Where an item's continuations differ: the words of each that not all the others share."""

from labeling_app.differences import segments


def marked(runs) -> list[str]:
    return [text for text, mark in runs if mark]


def test_only_the_words_not_shared_by_all_the_others_are_marked():
    texts = [" The ferry was late because the engine broke.", " The ferry was late because of the storm.",
             " The ferry was on time."]
    runs = segments(texts)
    assert [marked(r) for r in runs] == [["late because the engine broke."], ["late because of the storm."], ["on time."]]
    assert ["".join(text for text, _ in r) for r in runs] == texts  # joined, the runs give each text back


def test_a_word_two_of_four_share_is_still_marked():
    """Two pairs that differ by a word: each word is missing from two texts, so all four show it."""
    assert [marked(r) for r in segments(["a girl smiled", "a girl smiled", "a boy smiled", "a boy smiled"])] == \
        [["girl"], ["girl"], ["boy"], ["boy"]]


def test_the_same_word_elsewhere_is_not_shared():
    """The alignment is by position: a word the other text has only in another place differs."""
    assert [marked(r) for r in segments(["red car and blue bike", "blue car and red bike"])] == \
        [["red", "blue"], ["blue", "red"]]


def test_identical_or_single_texts_have_nothing_marked_and_white_space_is_kept():
    assert segments(["same  text\n", "same  text\n"]) == [[("same  text\n", False)]] * 2
    assert segments(["alone"]) == [[("alone", False)]]
    assert segments(["", "x"]) == [[], [("x", True)]]


def test_a_space_between_two_marked_words_joins_them_but_not_at_the_edges():
    [first, _] = segments([" one two three ", " one four five "])
    assert first == [(" one ", False), ("two three", True), (" ", False)]
