"""Just enough NetworkPolicy semantics to ask "may this peer open this port on that one?" of rendered manifests.

A pod is isolated in a direction once any policy selecting it names that direction; then only what some rule
allows gets through, and a connection needs both the sender's egress and the receiver's ingress. Peers are
pods in the platform's namespace, pods in another namespace, or addresses outside the cluster. An `ipBlock`
is taken to match anything, so a rule that uses one can never pass a "denied" check by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Peer:
    labels: dict[str, str] = field(default_factory=dict)
    #: The labels of the peer's namespace; None for an address outside the cluster.
    namespace: dict[str, str] | None = None
    #: In the platform's own namespace, where its policies apply.
    local: bool = False


def outside() -> Peer:
    return Peer()


def in_namespace(name: str, labels: dict[str, str] | None = None) -> Peer:
    return Peer(labels or {}, {NAMESPACE_LABEL: name})


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) matches `labels`; {} matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not ok:
            return False
    return True


class Policies:
    def __init__(self, docs: list[Doc]) -> None:
        self.policies = [doc["spec"] for doc in docs if doc["kind"] == "NetworkPolicy"]

    def _governing(self, pod: Peer, direction: str) -> list[Doc]:
        return [
            spec
            for spec in self.policies
            if pod.local and direction in spec.get("policyTypes", []) and selects(spec.get("podSelector"), pod.labels)
        ]

    def isolated(self, pod: Peer, direction: str) -> bool:
        return bool(self._governing(pod, direction))

    def allowed(self, source: Peer, destination: Peer, port: int, protocol: str = "TCP") -> bool:
        egress = self._governing(source, "Egress")
        ingress = self._governing(destination, "Ingress")
        sent = not egress or any(
            _permits(rule, "to", destination, port, protocol) for spec in egress for rule in spec.get("egress") or []
        )
        received = not ingress or any(
            _permits(rule, "from", source, port, protocol) for spec in ingress for rule in spec.get("ingress") or []
        )
        return sent and received


def _permits(rule: Doc, peers_key: str, other: Peer, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if ports and not any(_port_matches(entry, port, protocol) for entry in ports):
        return False
    peers = rule.get(peers_key)
    return not peers or any(_peer_matches(peer, other) for peer in peers)


def _port_matches(entry: Doc, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    if "port" not in entry:
        return True
    if not isinstance(entry["port"], int):
        raise AssertionError(f"named port {entry['port']!r} in a NetworkPolicy: use numbers, so they can be checked")
    return int(entry["port"]) <= port <= int(entry.get("endPort", entry["port"]))


def _peer_matches(peer: Doc, other: Peer) -> bool:
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer:
        return (
            other.namespace is not None
            and selects(peer["namespaceSelector"], other.namespace)
            and selects(peer.get("podSelector"), other.labels)
        )
    return other.local and selects(peer.get("podSelector"), other.labels)
