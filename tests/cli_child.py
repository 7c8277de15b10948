"""``impasto ARGS`` in a process of its own, painting with a tiny random network: for the tests
that feed it pipes, kill it or fill its disk. Not a test module (pytest collects ``test_*.py``
only). Give it ``IMPASTO_HOME`` (a cache folder of the test's own).

Environment: ``IMPASTO_TEST_LIMIT``, the readers' limit in bytes (``MAX_STREAM_BYTES``);
``IMPASTO_TEST_MEMORY``, bytes of address space the process may add once it has imported
everything (so that a reader without a limit fails, instead of filling the machine);
``IMPASTO_TEST_RSS``, a file that gets the peak resident memory (kB) before the command
(everything imported) and after it, so a test can see what the command itself took.
"""

from __future__ import annotations

import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import helpers  # noqa: E402
from impasto import jobs  # noqa: E402, F401  (imported before the command: not its memory)
from impasto.apps.batch import driver, plan, worker  # noqa: E402, F401
from impasto.apps.main import main  # noqa: E402
from impasto.io import images  # noqa: E402
from impasto.network import vgg  # noqa: E402

try:  # what a clip needs, imported before the command so its memory is not counted
    import av  # noqa: F401
    import cv2  # noqa: F401

    from impasto.io import video  # noqa: F401
except ImportError:
    pass


def tiny_weights(network, weights_path=None, on_progress=None):
    return helpers.tiny_weights(network)


if __name__ == "__main__":
    worker.paint = helpers.tiny_paint  # a batch's driver hands this to its worker processes
    vgg._state_dict = tiny_weights  # where every network gets its weights
    if "IMPASTO_TEST_LIMIT" in os.environ:
        images.MAX_STREAM_BYTES = int(os.environ["IMPASTO_TEST_LIMIT"])
    if "IMPASTO_TEST_MEMORY" in os.environ:
        with open("/proc/self/status") as status:
            size = next(line for line in status if line.startswith("VmSize:"))
        now = int(size.split()[1]) * 1024
        more = int(os.environ["IMPASTO_TEST_MEMORY"])
        resource.setrlimit(resource.RLIMIT_AS, (now + more, resource.RLIM_INFINITY))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status = main(sys.argv[1:])
    if "IMPASTO_TEST_RSS" in os.environ:
        with open(os.environ["IMPASTO_TEST_RSS"], "w") as out:
            print(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=out)
    sys.exit(status)
