"""One batch from a queue of jobs: shared by the several-sources batcher and the server's worker."""

from __future__ import annotations

import queue


def next_batch(jobs: queue.Queue, limit: int) -> list | None:
    """The next job (waiting for it) plus whatever else already waits, up to `limit`; None once told to stop.

    A None in the queue is the stop sign: taken mid-batch, it is put back so the batch still runs first."""
    job = jobs.get()
    if job is None:
        return None
    batch = [job]
    while len(batch) < limit:
        try:
            more = jobs.get_nowait()
        except queue.Empty:
            break
        if more is None:
            jobs.put(None)  # stop after this batch
            break
        batch.append(more)
    return batch
