"""The NetworkPolicy evaluator the manifest rules rely on, on hand-made policies."""

from __future__ import annotations

from tests.deploy.policies import Peer, Policies, in_namespace, outside, selects

NS = {"kubernetes.io/metadata.name": "gaap"}
WEB = Peer({"app": "web"}, NS, local=True)
DB = Peer({"app": "db"}, NS, local=True)


def policy(spec: dict[str, object]) -> dict[str, object]:
    return {"kind": "NetworkPolicy", "metadata": {"name": "p"}, "spec": spec}


def test_selectors() -> None:
    labels = {"app": "web", "tier": "api"}
    assert selects({}, labels)
    assert selects({"matchLabels": {"app": "web"}}, labels)
    assert not selects({"matchLabels": {"app": "db"}}, labels)
    assert selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "x"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]}, labels)
    assert selects({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, labels)


def test_unselected_pods_are_open_and_isolation_needs_both_ends() -> None:
    assert Policies([]).allowed(WEB, DB, 5432)
    deny_all = policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    db_in = policy(
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}],
        }
    )
    web_out = policy({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [{}]})
    assert not Policies([deny_all, db_in]).allowed(WEB, DB, 5432), "the sender's egress is still denied"
    both = Policies([deny_all, db_in, web_out])
    assert both.allowed(WEB, DB, 5432)
    assert not both.allowed(WEB, DB, 5433)
    assert not both.allowed(DB, WEB, 5432)
    assert not both.allowed(Peer({"app": "web"}, {"kubernetes.io/metadata.name": "other"}), DB, 5432)


def test_namespace_selectors_and_ip_blocks() -> None:
    from_nginx = policy(
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nginx"}}}]}],
        }
    )
    assert Policies([from_nginx]).allowed(in_namespace("nginx"), WEB, 80)
    assert not Policies([from_nginx]).allowed(in_namespace("other"), WEB, 80)
    assert not Policies([from_nginx]).allowed(outside(), WEB, 80)
    from_block = policy(
        {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}
    )
    assert Policies([from_block]).allowed(DB, WEB, 80), "an ipBlock may cover pod addresses: taken to match all"
