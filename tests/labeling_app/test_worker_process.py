"""labeling_app/worker_process.py: calls run in one other process, their errors come back, and a child that dies
fails only the call under way."""

import os
import threading

import pytest

from labeling_app.worker_process import WorkerProcess


@pytest.fixture
def worker():
    worker = WorkerProcess()
    yield worker
    worker.shutdown()


def test_a_call_runs_in_another_process_which_serves_the_next_calls_too(worker):
    pid = worker.submit(os.getpid).result(60)
    assert pid != os.getpid() and worker.submit(os.getpid).result(60) == pid
    assert worker.submit(divmod, 17, 5).result(60) == (3, 2)


def test_an_error_in_the_call_is_raised_by_its_future(worker):
    with pytest.raises(ValueError, match="invalid literal"):
        worker.submit(int, "x").result(60)
    assert worker.submit(int, "7").result(60) == 7


def test_prints_in_the_child_do_not_reach_the_replies(worker):
    assert worker.submit(print, "noise on stdout").result(60) is None
    assert worker.submit(divmod, 9, 2).result(60) == (4, 1)


def test_a_result_that_will_not_pickle_comes_back_as_an_error_naming_it(worker):
    with pytest.raises(RuntimeError, match="the result of allocate_lock could not be sent back: cannot pickle"):
        worker.submit(threading.Lock).result(60)


def test_a_child_that_dies_fails_its_call_and_the_next_call_starts_a_new_one(worker):
    first = worker.submit(os.getpid).result(60)
    with pytest.raises(RuntimeError, match="worker process ended during _exit"):
        worker.submit(os._exit, 3).result(60)
    assert worker.submit(os.getpid).result(60) not in (first, os.getpid())
