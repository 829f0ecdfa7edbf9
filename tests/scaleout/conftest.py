"""The scale-out rig: namespace hosts (`bench.netns`), the platform over them (`bench.scaleout`).

Needs root (network namespaces and veth pairs); skipped with the reason when this machine does not allow them.
The rig starts its own PostgreSQL and Redis on the hosts' bridge, since the suite's servers listen on the root
namespace's loopback, which no other namespace can reach.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.netns import permission_problem
from bench.scaleout import ScaleOut

#: Keep the processes' logs (and name their directory on stderr) when set to 1.
KEEP_ENV = "GAAP_SCALEOUT_KEEP"


@pytest.fixture(scope="session")
def netns_allowed() -> None:
    problem = permission_problem()
    if problem is not None:
        pytest.skip(f"scale-out tests need network namespaces: {problem}")


@pytest.fixture(scope="module")
def platform(netns_allowed: None) -> Iterator[ScaleOut]:
    """Two replica sets of every role, started side by side."""
    workdir = Path(tempfile.mkdtemp(prefix="gaap-scaleout-"))
    running = ScaleOut(workdir, initial_sets=2).start()
    try:
        yield running
    finally:
        running.close()
        if os.environ.get(KEEP_ENV) == "1":
            print(f"scale-out: logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
