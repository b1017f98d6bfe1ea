"""The starts' bound on BLAS threads: one thread inside the block below the
size where more pay, BLAS's own setting outside it and above it, and the
setting put back by the last of several blocks to end, whatever their order."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from sklearn_fitfn._training import blas


def _blas_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


@pytest.fixture
def two_threads():
    from threadpoolctl import threadpool_limits

    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_small_work_runs_on_one_thread_and_large_work_on_blass_own(two_threads):
    with blas.blas_threads_for(blas.PARALLEL_FLOPS / 10):
        assert _blas_threads() == {1}
    assert _blas_threads() == {2}
    with blas.blas_threads_for(blas.PARALLEL_FLOPS):
        assert _blas_threads() == {2}
    with blas.one_blas_thread():
        assert _blas_threads() == {1}
    assert _blas_threads() == {2}


def test_overlapping_blocks_put_the_setting_back_when_the_last_one_ends(two_threads):
    # As two threads of a search would: the first to enter is not the last to leave.
    first, second = blas.one_blas_thread(), blas.one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert _blas_threads() == {1}, "the second block is still running"
    second.__exit__(None, None, None)
    assert _blas_threads() == {2}


def test_an_error_in_the_block_puts_the_setting_back(two_threads):
    with pytest.raises(np.linalg.LinAlgError), blas.one_blas_thread():
        raise np.linalg.LinAlgError("singular")
    assert _blas_threads() == {2}


def test_a_block_is_told_the_threads_it_may_use_itself(two_threads):
    # The BLAS threads the process had (here 2), or 1 beside another block.
    with blas.one_blas_thread() as threads:
        assert threads == 2
        with blas.one_blas_thread() as beside:
            assert beside == 1
    with blas.blas_threads_for(blas.PARALLEL_FLOPS) as threads:
        assert threads is None


def test_blas_libraries_of_different_threads_give_the_fewest_without_a_warning(two_threads):
    # NumPy and SciPy each load an OpenBLAS of their own; a user may bound one.
    import warnings

    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    from threadpoolctl import ThreadpoolController

    libraries = ThreadpoolController().select(user_api="blas")
    if len(libraries.lib_controllers) < 2:
        pytest.skip("one BLAS library loaded")
    first = libraries.lib_controllers[0].filepath
    with ThreadpoolController().select(filepath=first).limit(limits=1):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with blas.one_blas_thread() as threads:
                assert threads == 1
