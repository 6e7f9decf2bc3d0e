import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from rlhf.errors import RLHFError
from rlhf.labeling.schema import as_utc
from rlhf.labeling.store import LabelStore


@pytest.fixture
def store(store_url):  # every test below runs on SQLite and on PostgreSQL (tests/conftest.py)
    store = LabelStore(store_url)
    store.add_queries([{"id": f"q{i}", "task": "sentiment", "prompt": f"Prompt {i}."} for i in range(5)])
    for i in range(5):
        store.add_batch(f"q{i}", [f"s{i}-{j}" for j in range(4)], policy="base", settings={"temperature": 0.7}, seed=i)
    return store


def test_sqlite_store_lives_in_the_run_dir_in_wal_mode(tmp_path):
    store = LabelStore.for_run(tmp_path / "run")
    assert (tmp_path / "run" / "labels.db").is_file()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_queries_are_added_once_and_batches_need_their_query(store):
    assert store.add_queries([{"id": "q0", "task": "sentiment", "prompt": "Again."}, {"id": "new", "task": "x", "prompt": "P."}]) == 1
    assert store.query("q0").prompt == "Prompt 0."
    with pytest.raises(RLHFError, match="unknown query id"):
        store.add_batch("missing", ["a", "b"], policy="base")
    assert store.batch(1).settings == {"temperature": 0.7} and store.count_batches() == 5


def test_passwords_are_hashed_and_checked(store):
    ann = store.add_labeler("ann", "correct horse", "admin")
    assert ann.is_admin and store.authenticate("ann", "correct horse") == ann
    assert store.authenticate("ann", "wrong") is None and store.authenticate("nobody", "correct horse") is None
    with store.session() as s:
        stored = s.execute(store_schema_select()).scalar()
    assert "correct horse" not in stored and stored.startswith("$argon2id$")
    with pytest.raises(RLHFError, match="already exists"):
        store.add_labeler("ann", "x" * 8)
    with pytest.raises(RLHFError, match="unknown role"):
        store.add_labeler("bob", "x" * 8, role="root")
    assert store.authenticate("sim:sentiment", "") is None and store.ensure_labeler("sim:sentiment").role == "labeler"
    assert store.authenticate("sim:sentiment", "") is None  # passwordless labelers cannot sign in


def store_schema_select():
    from sqlalchemy import select

    from rlhf.labeling.schema import LabelerRow

    return select(LabelerRow.password_hash).where(LabelerRow.name == "ann")


def test_assignments_go_to_k_labelers_and_never_twice_to_one(store):
    a, b, c = (store.add_labeler(n, "password1") for n in "abc")
    seen = {x.id: [] for x in (a, b, c)}
    for _ in range(10):
        for labeler in (a, b, c):
            item = store.next_assignment(labeler.id, labelers_per_batch=2)
            if item is not None:
                seen[labeler.id].append(item.batch_id)
                store.submit(labeler.id, item.batch_id, choice=item.shown_order[0], shown_order=item.shown_order)
    counts = {}
    for ids in seen.values():
        assert len(ids) == len(set(ids))  # never the same batch twice
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
    assert counts == {i: 2 for i in range(1, 6)}  # every batch exactly k = 2 times


def test_an_open_assignment_is_returned_again_with_the_same_order(store):
    ann = store.add_labeler("ann", "password1")
    first = store.next_assignment(ann.id, rng=random.Random(3))
    again = store.next_assignment(ann.id, rng=random.Random(99))
    assert (again.batch_id, again.shown_order) == (first.batch_id, first.shown_order)
    assert again.shown == [again.samples[i] for i in again.shown_order]


def test_shown_orders_are_random_permutations(store):
    orders = set()
    for n in range(5):
        labeler = store.add_labeler(f"l{n}", "password1")
        orders.add(tuple(store.next_assignment(labeler.id, labelers_per_batch=5).shown_order))
    assert len(orders) > 1 and all(sorted(o) == [0, 1, 2, 3] for o in orders)


def test_labels_are_validated(store):
    ann = store.add_labeler("ann", "password1")
    with pytest.raises(RLHFError, match="out of range"):
        store.submit(ann.id, 1, choice=4)
    with pytest.raises(RLHFError, match="unknown batch id 99"):
        store.submit(ann.id, 99, choice=0)
    with pytest.raises(RLHFError, match="needs a choice"):
        store.submit(ann.id, 1)
    with pytest.raises(RLHFError, match="not an ordering"):
        store.submit(ann.id, 1, choice=0, shown_order=[0, 0, 1, 2])
    assert store.labels() == []


def test_double_submission_is_stored_once(store):
    ann = store.add_labeler("ann", "password1")
    first = store.submit(ann.id, 1, choice=2, client_token="click-1")
    assert store.submit(ann.id, 1, choice=2, client_token="click-1") == first
    assert len(store.labels(effective=False)) == 1


def test_corrections_supersede_and_keep_the_original(store):
    ann = store.add_labeler("ann", "password1")
    old = store.submit(ann.id, 1, choice=1, shown_order=[3, 2, 1, 0], seconds=4.0)
    new = store.correct(old, choice=3)
    assert [(l.id, l.choice, l.supersedes) for l in store.labels()] == [(new, 3, old)]
    assert [l.choice for l in store.labels(effective=False)] == [1, 3]
    assert store.labels()[0].shown_order == [3, 2, 1, 0]
    with pytest.raises(RLHFError, match="already been corrected"):
        store.correct(old, choice=0)


def test_skips_and_flags_close_the_assignment(store):
    ann = store.add_labeler("ann", "password1")
    item = store.next_assignment(ann.id)
    store.submit(ann.id, item.batch_id, skipped=True, reason="cannot judge", shown_order=item.shown_order)
    item2 = store.next_assignment(ann.id)
    assert item2.batch_id != item.batch_id
    store.submit(ann.id, item2.batch_id, flagged=True, reason="broken prompt")
    rows = store.labels()
    assert [(r.skipped, r.flagged, r.reason) for r in rows] == [(True, False, "cannot judge"), (False, True, "broken prompt")]


def test_progress_counts_done_and_available(store):
    ann = store.add_labeler("ann", "password1")
    assert store.progress(ann.id).done == 0 and store.progress(ann.id).available == 5
    for _ in range(2):
        item = store.next_assignment(ann.id)
        store.submit(ann.id, item.batch_id, choice=0, seconds=30.0)
    progress = store.progress(ann.id)
    assert (progress.done, progress.available, progress.labels_per_hour) == (2, 5, 120.0)


def test_comparisons(store):
    cid = store.add_comparison("q1", "policy", "zero-shot", "text a", "text b", judge="ann", winner="a")
    assert store.comparisons()[0].id == cid and store.comparisons()[0].winner == "a"
    with pytest.raises(RLHFError, match="winner"):
        store.add_comparison("q1", "p", "z", "a", "b", winner="left")


def test_a_second_label_of_the_same_item_is_refused_but_a_correction_is_not(store):
    ann = store.add_labeler("ann", "password1")
    item = store.next_assignment(ann.id)
    first = store.submit(ann.id, item.batch_id, choice=0)
    with pytest.raises(RLHFError, match="already labeled by this labeler"):
        store.submit(ann.id, item.batch_id, choice=1)  # another tab, a stale page
    store.correct(first, choice=1)
    assert [l.choice for l in store.labels()] == [1]


def test_labels_per_hour_counts_only_timed_labels_and_errors_name_the_problem(store):
    ann = store.add_labeler("ann", "password1")
    store.submit(ann.id, 1, choice=0, seconds=60.0)
    store.submit(ann.id, 2, choice=0)  # imported or simulated: no duration
    assert store.progress(ann.id).labels_per_hour == 60.0
    with pytest.raises(RLHFError, match="could not be stored.*labeler 999"):
        store.submit(999, 3, choice=0)


def add_open_comparisons(store, n: int = 3) -> list[int]:
    return [store.add_comparison(f"q{i}", "policy", "zero-shot", f"policy text {i}", f"zero-shot text {i}") for i in range(n)]


def test_next_comparison_claims_the_oldest_open_one_and_gives_it_back_until_judged(store):
    first, second, third = add_open_comparisons(store)
    store.add_comparison("q4", "policy", "zero-shot", "x", "y", judge="sim:sentiment", winner="a")  # judged: never handed out
    row = store.next_comparison("ann")
    assert (row.id, row.judge, row.winner, row.a_text) == (first, "ann", None, "policy text 0")
    assert store.next_comparison("ann").id == first  # a reload: the same claim, not a new one
    assert store.next_comparison("bob").id == second  # never the row ann holds
    assert store.judge_comparison(first, "ann", "b") is True
    assert store.next_comparison("ann").id == third
    assert store.next_comparison("carol") is None  # bob and ann hold the other open ones
    claims = {r.id: (r.judge, r.winner) for r in store.comparisons()}
    assert claims[first] == ("ann", "b") and claims[second] == ("bob", None) and claims[third] == ("ann", None)


def test_claims_from_two_stores_on_one_database_never_overlap(tmp_path, store):
    add_open_comparisons(store, 4)
    other = LabelStore(store.url)  # another process's store (the app and a second app server)
    got = [store.next_comparison("ann").id, other.next_comparison("bob").id]
    store.judge_comparison(got[0], "ann", "tie")
    got += [store.next_comparison("ann").id, other.next_comparison("bob").id]
    assert got[1] == got[3] and len(set(got)) == 3
    assert other.next_comparison("carol").id not in got


def test_judging_records_a_b_or_tie_and_a_double_submit_changes_nothing(store):
    ids = add_open_comparisons(store)
    for cid, winner in zip(ids, ("a", "b", "tie")):
        assert store.next_comparison("ann").id == cid
        assert store.judge_comparison(cid, "ann", winner) is True
        assert store.judge_comparison(cid, "ann", winner) is False  # the double click
        assert store.judge_comparison(cid, "ann", "a" if winner != "a" else "b") is False  # a stale page: first one stays
    assert [(r.judge, r.winner) for r in store.comparisons()] == [("ann", "a"), ("ann", "b"), ("ann", "tie")]
    assert len(store.comparisons()) == 3 and store.next_comparison("ann") is None


def test_judging_refuses_bad_winners_unknown_ids_and_other_labelers_rows(store):
    cid, other, _ = add_open_comparisons(store)
    store.next_comparison("ann")
    with pytest.raises(RLHFError, match="winner is a, b or tie, not 'left'"):
        store.judge_comparison(cid, "ann", "left")
    with pytest.raises(RLHFError, match="unknown comparison id 99"):
        store.judge_comparison(99, "ann", "a")
    with pytest.raises(RLHFError, match=f"comparison {cid} is claimed by another labeler"):
        store.judge_comparison(cid, "bob", "a")
    store.judge_comparison(cid, "ann", "a")
    with pytest.raises(RLHFError, match=f"comparison {cid} is judged by another labeler"):
        store.judge_comparison(cid, "bob", "b")
    assert store.judge_comparison(other, "bob", "tie") is True  # an unclaimed row: claimed and judged at once
    assert [(r.judge, r.winner) for r in store.comparisons()][:2] == [("ann", "a"), ("bob", "tie")]


def test_comparison_progress_and_released_claims(store):
    ids = add_open_comparisons(store, 4)
    assert store.comparison_progress("ann") == (0, 4)
    store.next_comparison("bob")
    assert store.comparison_progress("ann") == (0, 3)  # bob's claim is not open to ann
    store.judge_comparison(store.next_comparison("ann").id, "ann", "a")
    store.next_comparison("ann")
    progress = store.comparison_progress("ann")
    assert (progress.done, progress.remaining) == (1, 2)  # ann's own claim still counts as hers
    assert store.release_comparisons("bob") == 1
    assert store.next_comparison("carol").id == ids[0]  # bob's claim is open again, oldest first


def test_a_claim_keeps_its_time_until_it_is_released(store):
    add_open_comparisons(store, 1)
    before = datetime.now(timezone.utc)
    claimed = store.next_comparison("ann").claimed_at
    assert before - timedelta(seconds=1) <= as_utc(claimed) <= datetime.now(timezone.utc)
    time.sleep(0.01)
    assert store.next_comparison("ann").claimed_at == claimed  # the same claim, shown since then (a reload)
    store.release_comparisons("ann")
    assert store.comparisons()[0].claimed_at is None
    assert as_utc(store.next_comparison("bob").claimed_at) > as_utc(claimed)


# -- the read queries of sampling, the loop, export, reward training and import ------------------


def label_some(store) -> dict:
    """ann labels batch 1 (then corrects it) and a tldr batch; bob labels batch 1, skips 2 and flags 3."""
    ann, bob = store.add_labeler("ann", "password1"), store.add_labeler("bob", "password1")
    store.add_queries([{"id": "t0", "task": "tldr", "prompt": "Article.", "reference": "Ref.", "split": "eval"}])
    tldr = store.add_batch("t0", ["x", "y"], policy="p", round=2, settings={}, seed=9)
    old = store.submit(ann.id, 1, choice=1, shown_order=[3, 2, 1, 0], seconds=4.0)
    return {"ann": ann.id, "bob": bob.id, "old": old, "new": store.correct(old, choice=3),
            "bob1": store.submit(bob.id, 1, choice=0), "skip": store.submit(bob.id, 2, skipped=True, reason="unclear"),
            "flag": store.submit(bob.id, 3, flagged=True), "tldr": store.submit(ann.id, tldr, choice=1, client_token="t-1")}


def test_sampled_query_ids_are_those_of_one_policy_and_round(store):
    store.add_batch("q1", ["a", "b"], policy="policy-r1", round=1)
    assert store.sampled_query_ids("base", 0) == {f"q{i}" for i in range(5)}
    assert store.sampled_query_ids("policy-r1", 1) == {"q1"}
    assert store.sampled_query_ids("base", 1) == set() and store.sampled_query_ids("policy-r1", 0) == set()


def test_unlabeled_batches_of_a_round_have_no_label_of_any_kind(store):
    store.add_batch("q0", ["a", "b"], policy="policy-r1", round=1)
    assert (store.count_unlabeled_batches(0), store.count_unlabeled_batches(1)) == (5, 1)
    ids = label_some(store)
    assert store.count_unlabeled_batches(0) == 2  # batch 1 (corrected), 2 (skipped) and 3 (flagged) are labeled
    assert (store.count_unlabeled_batches(1), store.count_unlabeled_batches(2)) == (1, 0)
    store.submit(ids["ann"], 6, choice=0)
    assert store.count_unlabeled_batches(1) == 0


def test_exported_labels_are_the_effective_ones_with_their_batch_query_and_labeler(store):
    ids = label_some(store)
    records = store.exported_labels()
    assert [r.label_id for r in records] == [ids[k] for k in ("new", "bob1", "skip", "flag", "tldr")]
    first = records[0]
    assert (first.batch_id, first.query_id, first.task, first.prompt, first.reference, first.split) == (
        1, "q0", "sentiment", "Prompt 0.", None, "train")
    assert (first.samples, first.policy, first.round, first.seed, first.settings) == (
        [f"s0-{j}" for j in range(4)], "base", 0, 0, {"temperature": 0.7})
    assert (first.labeler, first.choice, first.shown_order, first.seconds, first.skipped, first.flagged) == (
        "ann", 3, [3, 2, 1, 0], 4.0, False, False)
    assert first.created_at is not None and (records[2].skipped, records[2].choice, records[3].flagged) == (True, None, True)
    tldr = store.exported_labels("tldr")
    assert [r.label_id for r in tldr] == [ids["tldr"]] and (tldr[0].reference, tldr[0].split, tldr[0].round) == ("Ref.", "eval", 2)
    assert [r.label_id for r in store.exported_labels("sentiment")] == [r.label_id for r in records[:4]]
    assert store.exported_labels("nothing") == []


def test_training_labels_are_the_effective_choices_of_every_task(store):
    assert store.training_labels() == []
    ids = label_some(store)
    records = store.training_labels()
    assert [(r.label_id, r.choice, r.task) for r in records] == [
        (ids["new"], 3, "sentiment"), (ids["bob1"], 0, "sentiment"), (ids["tldr"], 1, "tldr")]
    assert (records[0].query_id, records[0].prompt, records[2].samples) == ("q0", "Prompt 0.", ["x", "y"])


def test_label_facts_are_the_effective_labels_as_the_statistics_read_them(store):
    ids = label_some(store)
    ann = store.labeler("ann")
    no_order = store.submit(ann.id, 4, choice=1, seconds=None)  # stored without a shown order
    facts = store.label_facts()
    fields = ("id", "batch_id", "labeler_id", "choice", "shown_order", "skipped", "flagged", "reason", "seconds")
    assert [f.id for f in facts] == [ids[k] for k in ("new", "bob1", "skip", "flag", "tldr")] + [no_order]
    assert [tuple(getattr(f, name) for name in fields) for f in facts] == [
        tuple(tuple(value) if name == "shown_order" and value is not None else value for name, value in
              ((name, getattr(row, name)) for name in fields)) for row in store.labels()]
    assert facts[0].shown_order == (3, 2, 1, 0) and facts[-1].shown_order is None


def test_a_long_read_takes_no_lock_from_labelers_and_reads_one_snapshot(store):
    import threading

    from sqlalchemy import func, select

    from rlhf.labeling.schema import LabelRow

    ann = store.add_labeler("ann", "ann-password")
    stored = []
    with store.reading() as s:
        before = s.scalar(select(func.count(LabelRow.id)))  # the read's transaction is open from here
        writer = threading.Thread(target=lambda: stored.append(store.submit(ann.id, 1, choice=0)))
        writer.start()
        writer.join(timeout=20)  # under the writers' lock this would wait for the read to end (60 s, then fail)
        assert stored and s.scalar(select(func.count(LabelRow.id))) == before  # still the snapshot it began with
    assert len(store.label_facts()) == before + 1


def test_superseded_labels_are_counted_per_task(store):
    ids = label_some(store)
    assert store.count_superseded_labels() == 1 and store.count_superseded_labels("sentiment") == 1
    store.correct(ids["tldr"], choice=0)
    store.correct(ids["new"], choice=2)
    assert (store.count_superseded_labels(), store.count_superseded_labels("sentiment"), store.count_superseded_labels("tldr")) == (3, 2, 1)
    assert store.count_superseded_labels("nothing") == 0


def test_policy_samples_pair_each_sample_with_its_prompt_in_batch_order(store):
    store.add_batch("q0", ["late"], policy="base", round=1)
    store.add_batch("q1", ["other"], policy="policy", round=0)
    pairs = store.policy_samples("base", 0)
    assert pairs == [(f"Prompt {i}.", f"s{i}-{j}") for i in range(5) for j in range(4)]
    assert store.policy_samples("base", 1) == [("Prompt 0.", "late")] and store.policy_samples("nobody", 0) == []


def test_find_batch_gives_the_oldest_batch_with_the_same_query_policy_and_samples(store):
    samples = [f"s0-{j}" for j in range(4)]
    again = store.add_batch("q0", samples, policy="base")
    assert again == 6 and store.find_batch("q0", "base", samples) == 1
    assert store.find_batch("q0", "base", samples[::-1]) is None and store.find_batch("q0", "other", samples) is None
    assert store.find_batch("q1", "base", samples) is None


def test_effective_labels_of_a_labeler_and_batch_leave_out_corrected_ones(store):
    ids = label_some(store)
    assert [l.id for l in store.effective_labels_of(1, ids["ann"])] == [ids["new"]]
    assert [(l.id, l.choice) for l in store.effective_labels_of(1, ids["bob"])] == [(ids["bob1"], 0)]
    assert [l.skipped for l in store.effective_labels_of(2, ids["bob"])] == [True]
    assert store.effective_labels_of(2, ids["ann"]) == []


def test_label_for_token_finds_the_label_stored_with_a_client_token(store):
    ids = label_some(store)
    assert store.label_for_token("t-1") == ids["tldr"] and store.label_for_token("t-2") is None


def test_a_label_sooner_than_the_reading_time_after_its_item_was_handed_out_is_refused(store):
    import time

    from rlhf.errors import LabelTooSoon

    ann = store.add_labeler("ann", "correct horse")
    item = store.next_assignment(ann.id)
    with pytest.raises(LabelTooSoon, match="min_seconds"):
        store.submit(ann.id, item.batch_id, choice=0, shown_order=item.shown_order, min_seconds=60)
    assert store.labels() == [] and store.next_assignment(ann.id).batch_id == item.batch_id  # still open, unlabeled
    time.sleep(0.05)
    store.submit(ann.id, item.batch_id, choice=0, shown_order=item.shown_order, min_seconds=0.01)
    assert [label.batch_id for label in store.labels()] == [item.batch_id]
    # Imports and simulated labelers pass no reading time: a label with no open assignment is not checked.
    store.submit(ann.id, 5, choice=1, min_seconds=60)


def test_an_app_session_resumes_within_its_limits_and_never_after_sign_out(store):
    ann = store.add_labeler("ann", "correct horse", "admin")
    token = store.open_app_session(ann.id, max_age_s=3600, max_idle_s=600)
    resumed = store.resume_app_session(token)
    assert (resumed.labeler_id, resumed.name, resumed.role) == (ann.id, "ann", "admin") and 0 <= resumed.age_s < 60
    assert store.resume_app_session("not-a-token") is None
    with store.session() as s:  # only the token's hash is kept
        assert token not in str(s.execute(store_schema_select_sessions()).all())
    store.close_app_session(token)
    assert store.resume_app_session(token) is None
    idle = store.open_app_session(ann.id, max_age_s=3600, max_idle_s=0.01)
    __import__("time").sleep(0.05)
    assert store.resume_app_session(idle) is None and store.resume_app_session(idle) is None  # expired: deleted
    kept = store.open_app_session(ann.id, max_age_s=3600, max_idle_s=600)
    from sqlalchemy import update

    from rlhf.labeling.schema import LabelerRow

    with store.session() as s, s.begin():  # no command deactivates labelers yet
        s.execute(update(LabelerRow).where(LabelerRow.id == ann.id).values(active=False))
    assert store.resume_app_session(kept) is None  # a deactivated labeler's sign-ins end


def store_schema_select_sessions():
    from sqlalchemy import select

    from rlhf.labeling.schema import AppSessionRow

    return select(AppSessionRow.token_hash, AppSessionRow.labeler_id)


def test_a_labeler_is_human_simulated_or_imported(store):
    store.add_labeler("ann", "password1")
    store.ensure_labeler("sim:sentiment")
    store.ensure_labeler("import")
    assert {labeler.name: labeler.kind for labeler in store.labelers()} == {
        "ann": "human", "sim:sentiment": "simulated", "import": "imported"}
    assert store.labeler("ann").kind == "human" and store.add_labeler("bob", None).kind == "imported"


def test_people_and_machines_hold_places_apart_unless_machines_count(store):
    ann, sim = store.add_labeler("ann", "password1"), store.ensure_labeler("sim:sentiment")
    first = store.next_assignment(sim.id, 1, count_machines=False)
    store.submit(sim.id, first.batch_id, choice=0, shown_order=first.shown_order)
    # The simulated labeler's label does not take the batch's one place from people...
    assert store.next_assignment(ann.id, 1, count_machines=False).batch_id == first.batch_id
    assert store.progress(ann.id, 1, count_machines=False).available == store.count_batches()
    # ...unless machines count: then bob (a person) gets the batch after it (ann and sim hold the first).
    bob = store.add_labeler("bob", "password1")
    assert store.next_assignment(bob.id, 2, count_machines=True).batch_id != first.batch_id
    assert store.next_assignment(sim.id, 1, count_machines=False).batch_id != first.batch_id
