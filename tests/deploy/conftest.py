"""Fixtures shared by the deployment checks that run containers."""
import pytest

from podman_helpers import Podman


@pytest.fixture(scope="module")
def podman():
    """podman, as scripts/deploy-check.sh set it up; what a module starts goes with it."""
    p = Podman()
    yield p
    p.close()
