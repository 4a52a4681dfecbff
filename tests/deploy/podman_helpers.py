"""Containers for the deployment checks, through podman as scripts/deploy-check.sh set it up
(CONTAINERS_CONF, the images it built). Every container, pod, network and volume started
here carries the label inferd.check.pid of that script's run: its exit trap removes them,
and a later run removes those of a run that was killed."""
import json
import os
import socket
import subprocess
import time

import pytest
import requests

SETUP = "scripts/deploy-check.sh"


def setting(name):
    """An INFERD_CHECK_* variable scripts/deploy-check.sh exports; failing without it."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the deployment checks with {SETUP}")
    return value


def free_port():
    """A loopback port free at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def name_of(what):
    """A name for a container, volume, network or pod of this run."""
    return f"inferd-check-{setting('INFERD_CHECK_PID')}-{what}"


class Podman:
    """Runs podman; remembers what it created and removes it in close()."""

    def __init__(self):
        self.label = f"inferd.check.pid={setting('INFERD_CHECK_PID')}"
        self.containers, self.pods, self.networks, self.volumes = [], [], [], []

    def __call__(self, *args, check=True, timeout=300, input=None):
        done = subprocess.run(["podman", *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(map(str, args))} exited "
                                 f"{done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def run(self, *args, **kwargs):
        """`podman run --rm` in the foreground; returns the CompletedProcess."""
        return self("run", "--rm", "--label", self.label, *args, **kwargs)

    def start(self, name, *args):
        """`podman run -d`: a named container in the background."""
        self("run", "-d", "--name", name, "--label", self.label, *args)
        self.containers.append(name)
        return name

    def volume(self, name):
        self("volume", "create", "--label", self.label, name)
        self.volumes.append(name)
        return name

    def network(self, name):
        self("network", "create", "--label", self.label, name)
        self.networks.append(name)
        return name

    def inspect(self, what, *args):
        return json.loads(self(what, "inspect", *args).stdout)

    def host_port(self, container, port):
        """The loopback port published for the container's `port`."""
        out = self("port", container, f"{port}/tcp").stdout.strip().splitlines()[0]
        return int(out.rsplit(":", 1)[1])

    def logs(self, container):
        done = self("logs", container, check=False)
        return done.stdout + done.stderr

    def close(self):
        for pod in self.pods:
            self("pod", "rm", "-f", "-t", "0", pod, check=False)
        for container in self.containers:
            self("rm", "-f", "-t", "0", container, check=False)
        for network in self.networks:
            self("network", "rm", "-f", network, check=False)
        for volume in self.volumes:
            self("volume", "rm", "-f", volume, check=False)


def wait_ready(url, what, logs, timeout=60):
    """Waits until url + /v2/health/ready answers 200; fails with the logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/v2/health/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} was not ready within {timeout} s:\n{logs()}")
