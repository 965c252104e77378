import os
import sys

# Tests compare against torch on 2 shared cores: keep each process single-threaded and quiet.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")  # real Keras 3 is the oracle of the Keras idiom
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

torch.set_num_threads(1)

import zlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _deterministic_test_data(request):
    """Every test draws the same random data whatever order or worker runs it (xdist), so results repeat."""
    from tests import helpers
    seed = zlib.crc32(request.node.nodeid.encode())
    helpers._rng = np.random.default_rng(seed)
    import lamina
    lamina.manual_seed(seed)
    torch.manual_seed(seed)
    yield
