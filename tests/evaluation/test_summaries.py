import pytest

from rlhf.evaluation.summaries import copy_stats, lead, rouge, sentences, summary_metrics

SOURCE = ("The council approved the new budget on Monday. Taxes will rise by two percent. "
          "The mayor called the vote historic.\nOpponents plan to appeal. A final decision is expected in May.")
FIRST = "The council approved the new budget on Monday."
FIFTH = "A final decision is expected in May."
NOVEL = "Residents protested loudly outside city hall."  # 6 words, none of its 4 trigrams in SOURCE


def test_rouge_is_one_for_identical_and_zero_for_disjoint_text():
    assert rouge(FIRST, FIRST) == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert rouge("dogs bark loudly", "the cat sat") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_rouge_stems_words():
    # Porter stems: cats -> cat, running and runs -> run; so unigrams and the one bigram all match.
    assert rouge("cats running", "cat runs") == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}


def test_rouge_partial_overlap():
    # Summary words: the cat sat; reference: the cat ran away. 2 shared unigrams: P 2/3, R 2/4,
    # F1 = 2PR/(P+R) = 4/7. Bigrams: 1 shared ("the cat") of 2 and 3: P 1/2, R 1/3, F1 = 2/5.
    # LCS "the cat" = 2, same as ROUGE-1: 4/7.
    assert rouge("the cat sat", "the cat ran away") == pytest.approx({"rouge1": 4 / 7, "rouge2": 0.4, "rougeL": 4 / 7})


def test_sentences_keep_an_unpunctuated_tail():
    # rlhf.tasks.prompts.split_sentences would drop this whole paragraph as a heading.
    assert sentences("It was late.  The model\nstopped mid") == ["It was late.", "The model stopped mid"]
    assert sentences("") == []


def test_lead_returns_the_first_k_sentences():
    assert lead(SOURCE, 3) == ("The council approved the new budget on Monday. Taxes will rise by two percent. "
                               "The mayor called the vote historic.")
    assert lead(SOURCE, 1) == FIRST
    assert lead(SOURCE) == lead(SOURCE, 3)
    assert lead(SOURCE, 10) == " ".join(SOURCE.split())


def test_summary_that_is_the_first_sentence_is_a_full_lead_copy():
    # 8 words, 6 trigrams, all in the source.
    assert copy_stats(FIRST, SOURCE) == {"copied_sentences": 1.0, "copied_lead": 1.0, "fully_copied": 1.0,
                                         "novel_trigrams": 0.0, "length_words": 8}


def test_copying_the_fifth_sentence_is_not_a_lead_copy():
    stats = copy_stats(FIFTH, SOURCE)
    assert (stats["copied_sentences"], stats["copied_lead"], stats["fully_copied"]) == (1.0, 0.0, 1.0)
    assert copy_stats(FIFTH, SOURCE, lead_k=5)["copied_lead"] == 1.0


def test_fully_novel_summary():
    assert copy_stats(NOVEL, SOURCE) == {"copied_sentences": 0.0, "copied_lead": 0.0, "fully_copied": 0.0,
                                         "novel_trigrams": 1.0, "length_words": 6}


def test_mixed_summary_counts_shares():
    # Sentence 1 is source sentence 2 (in the lead), sentence 2 is new: 1 of 2 copied.
    # 12 words -> 10 trigrams; in the source: taxes will rise, will rise by, rise by two,
    # by two percent (4); the other 6 cross into the new sentence or are in it: 6/10 novel.
    stats = copy_stats("Taxes will rise by two percent. " + NOVEL, SOURCE)
    assert stats == {"copied_sentences": 0.5, "copied_lead": 0.5, "fully_copied": 0.0,
                     "novel_trigrams": 0.6, "length_words": 12}


def test_whitespace_and_case_do_not_hide_a_copy():
    stats = copy_stats("  the COUNCIL approved\n the new   budget on monday.", SOURCE)
    assert (stats["copied_sentences"], stats["copied_lead"], stats["novel_trigrams"]) == (1.0, 1.0, 0.0)


def test_a_copied_clause_ended_with_a_full_stop_or_cut_off_counts_as_copied():
    assert copy_stats("Taxes will rise.", SOURCE)["copied_sentences"] == 1.0  # source: "...rise by two percent."
    assert copy_stats("The mayor called the vote", SOURCE)["copied_lead"] == 1.0  # truncated sample


def test_copies_are_whole_words():
    # "no" occurs inside "piano" but not as a word.
    assert copy_stats("No.", "I play the piano.")["copied_sentences"] == 0.0


def test_empty_and_short_summaries_give_none_not_nan():
    assert copy_stats("", SOURCE) == {"copied_sentences": None, "copied_lead": None, "fully_copied": None,
                                      "novel_trigrams": None, "length_words": 0}
    assert copy_stats("...", SOURCE)["copied_sentences"] is None  # no words: no sentence to count
    assert copy_stats("Taxes rise.", SOURCE)["novel_trigrams"] is None  # 2 words: no trigram
    assert rouge("", FIRST) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_summary_metrics_averages_and_skips_missing_references():
    result = summary_metrics([FIRST, NOVEL, FIFTH], [SOURCE] * 3, [FIRST, None, "  "])
    # ROUGE over the first summary only (the others have no reference): 1.0.
    # copied: 1, 0, 1 -> 2/3; lead: 1, 0, 0 -> 1/3; novel trigrams 0, 1, 0 -> 1/3; words 8, 6, 7 -> 7.
    assert result == pytest.approx({"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "copied_sentences": 2 / 3,
                                    "copied_lead": 1 / 3, "fully_copied": 2 / 3, "novel_trigrams": 1 / 3,
                                    "length_words": 7.0, "n": 3})


def test_summary_metrics_skips_none_and_handles_empty_input():
    result = summary_metrics(["", NOVEL], [SOURCE, SOURCE], [None, None])
    # The empty summary has no copy shares, so they come from NOVEL alone; lengths 0 and 6.
    assert result == {"rouge1": None, "rouge2": None, "rougeL": None, "copied_sentences": 0.0,
                      "copied_lead": 0.0, "fully_copied": 0.0, "novel_trigrams": 1.0, "length_words": 3.0, "n": 2}
    assert summary_metrics([], [], [])["n"] == 0


def test_summary_metrics_rejects_unpaired_inputs():
    with pytest.raises(ValueError):
        summary_metrics([FIRST], [SOURCE, SOURCE], [None])


def test_lead_skips_the_bylines_and_datelines_of_a_news_page():
    page = ("By . Associated Press . PUBLISHED: . 14:11 EST, 3 January 2014 . | . UPDATED: . 16:20 EST, "
            "3 January 2014 . A snowstorm closed every school in Boston on Friday. Roads were empty by noon. "
            "The mayor asked people to stay home. Crews worked through the night.")
    assert lead(page) == ("A snowstorm closed every school in Boston on Friday. Roads were empty by noon. "
                          "The mayor asked people to stay home.")
    story = "Mr. Lee won. The vote was close. Turnout was high. Results came late."
    assert lead(story, 2) == "Mr. Lee won. The vote was close."  # a short first sentence of the story stays
