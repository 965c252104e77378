import os
import sys

# Tests compare against torch on 2 shared cores: keep each process single-threaded and quiet.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")  # real Keras 3 is the oracle of the Keras idiom
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

torch.set_num_threads(1)
