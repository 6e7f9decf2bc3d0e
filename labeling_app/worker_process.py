"""One Python process beside the app's, to run work that would hold the app's interpreter: `submit(fn, *args)`
as with an executor, one call at a time, its result (or error) in a Future.

Why not `concurrent.futures.ProcessPoolExecutor`: Streamlit makes the app's script the `__main__` module,
and multiprocessing's spawn and forkserver start each worker by running `__main__` again: the child
ran the whole app. This starts `python -m labeling_app.worker_process`, which imports only what the
calls name. Calls and results are pickled over the child's stdin and a private copy of its stdout
(the child's own prints go to stderr). A child that dies fails the call under way; the next call
starts a new one.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Optional


class WorkerProcess:
    def __init__(self):
        self._process: Optional[subprocess.Popen] = None
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-process")  # waits on the pipe
        self._lock = threading.Lock()

    def submit(self, fn, *args) -> Future:
        return self._waiter.submit(self._call, fn, args)

    def _call(self, fn, args):
        with self._lock:
            process = self._started()
            try:
                pickle.dump((fn, args), process.stdin)
                process.stdin.flush()
                ok, value = pickle.load(process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError) as error:
                self._stop()
                raise RuntimeError(f"the worker process ended during {getattr(fn, '__name__', fn)}: {error}") from None
        if not ok:
            raise value
        return value

    def _started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def shutdown(self) -> None:
        """Ends the child (as at exit: its stdin closes)."""
        with self._lock:
            if self._process is not None:
                self._process.stdin.close()
                self._process.wait()
                self._process = None
        self._waiter.shutdown()


def _serve() -> None:
    """The child: call what comes on stdin, answer (True, result) or (False, error) on the private stdout."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints from the calls go to stderr, never into the replies
    requests = sys.stdin.buffer
    while True:
        try:
            fn, args = pickle.load(requests)
        except EOFError:
            return  # the app closed our stdin: it ended
        try:
            reply = (True, fn(*args))
        except Exception as error:  # the caller's to raise
            reply = (False, error)
        try:
            data = pickle.dumps(reply)
        except Exception as error:  # a result or an error that will not pickle goes as text
            what = f"the result of {getattr(fn, '__name__', fn)}" if reply[0] else f"{type(reply[1]).__name__}: {reply[1]}"
            data = pickle.dumps((False, RuntimeError(f"{what} could not be sent back: {error}")))
        replies.write(data)
        replies.flush()


if __name__ == "__main__":
    _serve()
