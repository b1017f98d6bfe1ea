"""BLAS threads for the starts' dense algebra: one, unless the work is large.

OpenBLAS's threads wait for each other by spinning. On a machine whose cores
are busy with other work, a thread that waits can hold a core the others
need, and a factorisation then takes many times its time
(benchmarks/BLAS_THREADS.md, 2 cores: division's SVD of 5,666 x 202 took
0.08 s idle with two threads and 1.1 s beside two other CPU-bound processes;
with one thread 0.11 s and 0.17 s; an SVD of 20,000 x 402 took 0.9 s and
17.8 s, against 1.1 s and 1.8 s). A second thread gained at most 1.4x on an
idle machine below :data:`PARALLEL_FLOPS`, and lost up to 10x beside other
work; so the starts run their SVD and eigh in :func:`one_blas_thread`, and
their least squares in :func:`blas_threads_for`, which leaves larger work
(the 100-input quadratic, 2e11 operations: 2x faster idle with two threads,
as fast busy) to the library's own setting.

The bound is threadpoolctl's, held for the block only: BLAS's thread count is
a setting of the whole process, so while several threads of the process are
inside such a block the bound is set once, by the first to enter, and put
back by the last to leave, as it was.
"""

import contextlib
import threading

#: Floating-point operations above which BLAS keeps its own number of threads
#: (benchmarks/BLAS_THREADS.md: a Gram matrix and Cholesky factor of 9.8
#: GFLOP took 1.4x less time with two threads on an idle 2-core machine and
#: 4.3x more beside two CPU-bound processes; one of 200 GFLOP 2x less idle,
#: the same busy).
PARALLEL_FLOPS = 5e10

_lock = threading.Lock()
_holders = 0
_limiter = None


def _enter():
    """Hold the bound; the threads the block may use for its own work."""
    global _holders, _limiter
    with _lock:
        if _holders:
            _holders += 1
            return 1  # another block of this process is at work beside it
        from threadpoolctl import ThreadpoolController

        blas = ThreadpoolController().select(user_api="blas")
        # The fewest of the BLAS libraries' threads (NumPy's and SciPy's may
        # differ), read here: threadpoolctl would warn of the difference.
        before = min((library["num_threads"] for library in blas.info()), default=1)
        _limiter = blas.limit(limits=1)
        _holders = 1
        return max(1, before)


def _leave():
    global _holders, _limiter
    with _lock:
        _holders -= 1
        if _holders == 0:
            _limiter.restore_original_limits()
            _limiter = None


def one_blas_thread():
    """Run the block with one BLAS thread, whatever its size: for LAPACK's
    SVD and eigendecompositions, which gained at most 1.2x from a second
    thread on an idle machine at the sizes measured, and lost up to 10x on a
    busy one (benchmarks/BLAS_THREADS.md).

    The block is given the number of threads it may run independent work on
    itself: the BLAS threads the process had before the bound (all its cores,
    unless ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or threadpoolctl
    says fewer), or 1 while another such block of the process is at work.
    """
    return blas_threads_for(0)


@contextlib.contextmanager
def blas_threads_for(flops):
    """Run the block with one BLAS thread when its work, ``flops``
    floating-point operations, is below :data:`PARALLEL_FLOPS`; otherwise
    with BLAS's own number of threads.

    Parameters
    ----------
    flops : float
        The block's work, roughly: ``2·m·n·k`` for a product, ``4·m·n²``
        for an SVD of an ``m × n`` matrix.

    Yields
    ------
    int or None
        Under the bound, the threads the block may run independent work on
        (see :func:`one_blas_thread`); None when BLAS keeps its own.
    """
    if flops >= PARALLEL_FLOPS:
        yield None
        return
    threads = _enter()
    try:
        yield threads
    finally:
        _leave()
