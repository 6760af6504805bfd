"""Label spreading solves all classes in one conjugate-gradient run: the same answer as scipy's cg per class."""

import numpy as np
from scipy.sparse import csr_matrix, identity, random_array
from scipy.sparse.linalg import cg

from labellight.curation.propagation import _conjugate_gradients


def test_block_conjugate_gradients_match_scipy_per_column() -> None:
    rng = np.random.default_rng(0)
    a = random_array((300, 300), density=0.03, rng=rng)
    w = abs(a + a.T)
    degree = np.asarray(w.sum(axis=1)).ravel() + 1e-9
    scale = identity(300).multiply(1 / np.sqrt(degree)).tocsr()
    system = csr_matrix(identity(300) - 0.99 * (scale @ w @ scale))
    y = np.zeros((300, 4))
    y[rng.choice(300, 12, replace=False), np.arange(12) % 4] = 1.0
    y[:, 3] = 0.0  # a class with no label: stays zero, no division by zero
    expected = np.column_stack([cg(system, y[:, c], rtol=1e-6, maxiter=20)[0] for c in range(4)])
    np.testing.assert_allclose(_conjugate_gradients(system, y), expected, atol=1e-10)
    assert not _conjugate_gradients(system, y)[:, 3].any()
    # Run to convergence, it solves the system.
    solved = _conjugate_gradients(system, y, rtol=1e-10, iterations=1000)
    np.testing.assert_allclose(system @ solved, y, atol=1e-8)
