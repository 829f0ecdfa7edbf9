"""Namespace "hosts" on one machine: a network namespace per host, joined by veth pairs to a bridge in the root
namespace, each host with its own address on a private /24, its own loopback, and optionally its own CPU share.

    with Network(["gateway-0", "notify-0"]) as net:
        argv = net.command("gateway-0", ["gaap", "serve", "gateway", "--host", "0.0.0.0"])
        url = f"http://{net.address('gateway-0')}:8000"

The root namespace holds the bridge's address (`net.bridge_address`): servers started there on that address
(PostgreSQL, Redis, a load balancer) are reachable from every host, and every host's address is reachable from
the root namespace, so the harness and wrk stay outside. A host's processes run through `ip netns exec`, which
enters the namespace and execs the command (no extra process): the PID is the command's.

**CPU shares.** `cpu=0.3` gives each host a cgroup whose quota is 0.3 of a core (cgroup v2 `cpu.max`, or v1
`cpu.cfs_quota_us`), so a host behaves like a small machine of its own instead of sharing every core with every
other host. `set_cpu()` changes the quota of running hosts. A process joins its host's cgroup before it execs.

**Clean-up.** Every name carries the run's id (`gsx` + the owner's PID in hex): namespaces `gsx<run>-<host>`,
links `gsx<run>br` and `gsx<run>v<n>`, cgroups `gsx<run>-<host>`. `close()` (also on failure, Ctrl-C, or the
SIGTERM a caller turns into an exception) removes them all, and every new `Network` first removes whatever a
crashed run left behind: the names whose owner PID is no longer alive. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN);
`permission_problem()` says why it cannot run here.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PREFIX = "gsx"
#: Hosts get addresses in one free /24 of this range (the third octet picked per run).
SUBNETS = ipaddress.IPv4Network("10.251.0.0/16")
_LOCK = Path("/run/lock/gaap-netns.lock") if Path("/run/lock").is_dir() else Path("/tmp/gaap-netns.lock")
_CGROUP_V2 = Path("/sys/fs/cgroup")
_CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
_PERIOD_US = 100_000
_NAME = re.compile(rf"^{PREFIX}([0-9a-f]+)(?:-|br$|v\d+$)")
_HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


class NetnsError(RuntimeError):
    """An `ip` command failed; the message holds the command and what it printed."""


def _ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def permission_problem() -> str | None:
    """None when namespaces can be made here, else why not (for a test's skip reason)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    probe = f"{PREFIX}{os.getpid():x}-probe"
    try:
        _ip("netns", "add", probe)
    except FileNotFoundError:
        return "the `ip` command (iproute2) is not installed"
    except NetnsError as exc:
        return f"network namespaces are not permitted here: {exc}"
    with contextlib.suppress(NetnsError):
        _ip("netns", "del", probe)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_run(name: str) -> bool:
    match = _NAME.match(name)
    return match is not None and not _pid_alive(int(match.group(1), 16))


def _cgroup_root() -> tuple[Path, bool] | None:
    """Where host cgroups go, and whether it is cgroup v2; None when neither hierarchy offers the cpu controller."""
    controllers = _CGROUP_V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return _CGROUP_V2, True
    if (_CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
        return _CGROUP_V1_CPU, False
    return None


def cleanup_stale() -> list[str]:
    """Remove the namespaces, links and cgroups of runs whose owner is gone; returns what was removed."""
    removed: list[str] = []
    for line in _ip("netns", "list", check=False).splitlines():
        name = line.split()[0] if line.split() else ""
        if _stale_run(name):
            _ip("netns", "del", name, check=False)
            removed.append(f"netns {name}")
    for line in _ip("-o", "link", "show", check=False).splitlines():
        parts = line.split(":")
        name = parts[1].strip().split("@")[0] if len(parts) > 1 else ""
        if _stale_run(name):
            _ip("link", "del", name, check=False)
            removed.append(f"link {name}")
    found = _cgroup_root()
    if found is not None:
        for path in found[0].glob(f"{PREFIX}*"):
            if path.is_dir() and _stale_run(path.name):
                _remove_cgroup(path, found[0])
                removed.append(f"cgroup {path}")
    return removed


def _remove_cgroup(path: Path, root: Path) -> None:
    """Move any process left in it to the root group (rmdir fails on a group with members), then remove it."""
    with contextlib.suppress(OSError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (root / "cgroup.procs").write_text(pid)
    with contextlib.suppress(OSError):
        path.rmdir()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialise set-up between concurrent runs, so two never pick the same subnet."""
    with _LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _free_subnet() -> ipaddress.IPv4Network:
    used = set()
    for line in _ip("-4", "-o", "addr", "show", check=False).splitlines():
        for token in line.split():
            if "/" in token:
                with contextlib.suppress(ValueError):
                    used.add(ipaddress.ip_interface(token).network)
    for candidate in SUBNETS.subnets(new_prefix=24):
        if candidate.network_address.packed[2] == 0:
            continue
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    raise NetnsError(f"no free /24 left in {SUBNETS}")


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    address: str
    #: The root-side end of its veth pair (the other end is `eth0` inside the namespace).
    link: str
    cgroup: Path | None = None


class Network:
    """Hosts on one bridge. Start with `with Network(hosts) as net:` (or `start()`/`close()`); add hosts later with
    `add_host()`."""

    def __init__(self, hosts: Iterable[str] = (), *, cpu: float | None = None) -> None:
        self.run_id = f"{os.getpid():x}"
        self.bridge = f"{PREFIX}{self.run_id}br"
        self.hosts: dict[str, Host] = {}
        self._wanted = list(hosts)
        self._cpu = cpu
        self._subnet: ipaddress.IPv4Network | None = None
        self._cgroups: tuple[Path, bool] | None = None
        self._started = False

    # -- life cycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> Network:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> Network:
        try:
            with _locked():
                cleanup_stale()
                self._subnet = _free_subnet()
                self._started = True
                _ip("link", "add", self.bridge, "type", "bridge")
                _ip("addr", "add", f"{self.bridge_address}/{self._subnet.prefixlen}", "dev", self.bridge)
                _ip("link", "set", self.bridge, "up")
            self._cgroups = _cgroup_root()
            for name in self._wanted:
                self.add_host(name)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove every namespace (which removes its veth pair), the bridge and the cgroups; safe to call twice.
        Stop the hosts' processes first: a namespace with processes in it outlives its name."""
        for host in reversed(list(self.hosts.values())):
            _ip("netns", "del", host.namespace, check=False)
            _ip("link", "del", host.link, check=False)
            if host.cgroup is not None and self._cgroups is not None:
                _remove_cgroup(host.cgroup, self._cgroups[0])
        self.hosts.clear()
        if self._started:
            _ip("link", "del", self.bridge, check=False)
            self._started = False

    # -- hosts -----------------------------------------------------------------------------------------------

    @property
    def bridge_address(self) -> str:
        if self._subnet is None:
            raise RuntimeError("the network is not started")
        return str(self._subnet.network_address + 1)

    @property
    def subnet(self) -> str:
        """The hosts' network, e.g. `10.251.1.0/24`."""
        if self._subnet is None:
            raise RuntimeError("the network is not started")
        return str(self._subnet)

    def add_host(self, name: str) -> Host:
        if not _HOST_NAME.match(name):
            raise ValueError(f"host name {name!r}: lower-case letters, digits and dashes, at most 31 characters")
        if name in self.hosts:
            raise ValueError(f"host {name!r} already exists")
        if self._subnet is None:
            raise RuntimeError("the network is not started")
        index = len(self.hosts) + 2
        if index >= self._subnet.num_addresses - 1:
            raise NetnsError(f"no address left in {self._subnet}")
        namespace, link = f"{PREFIX}{self.run_id}-{name}", f"{PREFIX}{self.run_id}v{index}"
        address = str(self._subnet.network_address + index)
        peer = f"{link}p"
        host = Host(name, namespace, address, link, self._make_cgroup(namespace))
        self.hosts[name] = host  # recorded first, so close() removes a half-made host
        _ip("netns", "add", namespace)
        _ip("link", "add", link, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", namespace)
        _ip("-n", namespace, "link", "set", peer, "name", "eth0")
        _ip("-n", namespace, "addr", "add", f"{address}/{self._subnet.prefixlen}", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "route", "add", "default", "via", self.bridge_address)
        _ip("link", "set", link, "master", self.bridge)
        _ip("link", "set", link, "up")
        return host

    def _make_cgroup(self, namespace: str) -> Path | None:
        if self._cpu is None:
            return None
        if self._cgroups is None:
            raise NetnsError("no cgroup hierarchy with the cpu controller: cannot give hosts their own CPU share")
        path = self._cgroups[0] / namespace
        path.mkdir(exist_ok=True)
        self._write_quota(path, self._cpu)
        return path

    def _write_quota(self, path: Path, cpu: float) -> None:
        assert self._cgroups is not None
        quota = int(cpu * _PERIOD_US) if cpu > 0 else None
        if self._cgroups[1]:
            (path / "cpu.max").write_text(f"{quota if quota else 'max'} {_PERIOD_US}")
        else:
            (path / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota if quota else -1))

    def set_cpu(self, cpu: float) -> None:
        """Every host's CPU share from now on, in cores; 0 lifts the limit. Only for a network made with `cpu`."""
        if self._cpu is None:
            raise RuntimeError("this network was made without CPU shares (Network(..., cpu=...))")
        self._cpu = cpu
        for host in self.hosts.values():
            if host.cgroup is not None:
                self._write_quota(host.cgroup, cpu)

    @property
    def cpu(self) -> float | None:
        return self._cpu

    def address(self, name: str) -> str:
        return self.hosts[name].address

    def command(self, name: str, argv: list[str]) -> list[str]:
        """`argv` run on host `name` (pass `preexec_fn=net.preexec(name)` to Popen to put it in the host's cgroup)."""
        return ["ip", "netns", "exec", self.hosts[name].namespace, *argv]

    def preexec(self, name: str, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """For Popen's `preexec_fn`: join host `name`'s cgroup (if it has one), then run `then`."""
        cgroup = self.hosts[name].cgroup
        procs = str(cgroup / "cgroup.procs") if cgroup is not None else None

        def preexec() -> None:
            if procs is not None:
                fd = os.open(procs, os.O_WRONLY)
                try:
                    os.write(fd, str(os.getpid()).encode())
                finally:
                    os.close(fd)
            if then is not None:
                then()

        return preexec
