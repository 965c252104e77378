"""The backend seam: the allocator tuning done at import, and how a process opts out of it."""
import os
import subprocess
import sys

import pytest


def _tuned_in_child(**env):
    code = "import lamina.backend as b; print(b.allocator_tuned)"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "LAMINA_TUNE"))}
    child_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")
def test_allocator_tuned_at_import_unless_the_process_opts_out():
    assert _tuned_in_child() == "True"
    assert _tuned_in_child(LAMINA_TUNE_MALLOC="0") == "False"
    assert _tuned_in_child(MALLOC_TOP_PAD_="1048576") == "False"      # the process chose its own settings

