"""BLB's formulas against hand-worked examples: distance, weights, benefit, SolveP, the
algorithm (join, new cluster, expiry) and the k-medoids seed."""

from __future__ import annotations

import math

import pytest

from controlplane.balance.blb import BalanceConfig, Balancer
from controlplane.balance.cluster import Cluster
from controlplane.balance.distance import DistanceConfig, d_ip, d_port, distance
from controlplane.balance.flow import TCP, UDP, Flow
from controlplane.balance.kmedoids import kmedoids
from controlplane.balance.solvep import Candidate, solve_p, variance

CFG = DistanceConfig()  # alpha ip 0.6, port 0.3, protocol 0.1
F1 = Flow.of("10.0.0.1", "192.0.2.10", 40000, 80, TCP)
F2 = Flow.of("10.0.0.2", "192.0.2.10", 40001, 443, TCP)
F3 = Flow.of("10.9.9.9", "192.0.2.77", 5000, 22, UDP)


def test_distance_identical_destination_functional_ports() -> None:
    # d_ip 0 (same destination), d_port 1/3 (80 and 443: one service), d_proto 0
    assert distance(F1, F2, CFG) == pytest.approx(0.3 * (1 / 3))


def test_distance_subnet_other_port_other_protocol() -> None:
    # d_ip 0.5 (192.0.2.0/24), d_port 1, d_proto 1: 0.6*0.5 + 0.3 + 0.1
    assert distance(F1, F3, CFG) == pytest.approx(0.7)


def test_distance_configured_port_set_and_no_ip_correlation() -> None:
    cfg = DistanceConfig(configured_sets=(frozenset({23, 80}),))
    f4 = Flow.of("10.0.0.3", "198.51.100.1", 1, 23, TCP)
    assert d_ip(F1, f4, cfg) == 1.0
    assert d_port(F1, f4, cfg) == pytest.approx(2 / 3)
    assert distance(F1, f4, cfg) == pytest.approx(0.6 + 0.3 * 2 / 3)
    assert distance(F1, f4, CFG) == pytest.approx(0.9)  # without the set: no correlation


def test_identical_source_is_identical_correlation_and_distance_is_symmetric() -> None:
    a = Flow.of("10.1.2.3", "198.51.100.1", 1, 22, TCP)
    b = Flow.of("10.1.2.3", "203.0.113.9", 2, 22, TCP)
    assert distance(a, b, CFG) == 0.0
    assert distance(F1, F3, CFG) == distance(F3, F1, CFG)


def test_ipv6_subnet() -> None:
    a = Flow.of("2001:db8::1", "2001:db8:1::10", 1, 53, UDP)
    b = Flow.of("2001:db8::2", "2001:db8:1::20", 1, 53, UDP)
    assert d_ip(a, b, CFG) == 0.5
    assert d_ip(a, F1, CFG) == 1.0


def test_distance_config_problems() -> None:
    assert DistanceConfig().problems() == []
    assert "sum to 1" in DistanceConfig(alpha_ip=0.5).problems()[0]


def test_weight_decay_and_adding_a_flow() -> None:
    c = Cluster(0, F1, worker=0, weight=1.0, t_last=0.0)
    assert c.weight_at(3.0, 2.0) == pytest.approx(1 / 8)
    # at t=1 with lambda 2: decayed 0.5; + (1 - 0.5) * e^-0.1 / (1 + 1)
    w = c.add(0.1, 1.0, 2.0)
    assert w == pytest.approx(0.5 + 0.5 * math.exp(-0.1) / 2)
    assert w == pytest.approx(0.726209, abs=1e-6)
    assert (c.size, c.t_last) == (2, 1.0)
    # benefit at t=2 for a flow at distance 0.1: (1 - 0.1) * 0.726209 / 2
    assert c.benefit(0.1, 2.0, 2.0) == pytest.approx(0.9 * 0.726209 / 2, abs=1e-6)


def test_weight_never_exceeds_one() -> None:
    c = Cluster(0, F1, worker=0, weight=1.0, t_last=0.0)
    for i in range(50):
        assert c.add(0.0, float(i) * 0.01, 1.5) <= 1.0


def test_touch_keeps_the_weight_while_in_use() -> None:
    c = Cluster(0, F1, worker=0, weight=0.8, t_last=0.0)
    c.touch(5.0)
    assert c.weight_at(5.0, 2.0) == pytest.approx(0.8)
    assert c.weight_at(6.0, 2.0) == pytest.approx(0.4)


LOADS = [10.0, 12.0, 14.0]  # mean 12, variance 8/3
A = Candidate(1, worker=2, benefit=0.9)
B = Candidate(2, worker=0, benefit=0.5)
C = Candidate(3, worker=1, benefit=0.4)


def test_variance() -> None:
    assert variance(LOADS) == pytest.approx(8 / 3)


def test_solvep_takes_the_biggest_benefit_within_v() -> None:
    # A on worker 2: loads 10, 12, 17 -> variance 26/3 = 8.67 <= 9
    assert solve_p([B, A, C], LOADS, 3.0, 1, 9.0) == [A]


def test_solvep_skips_a_cluster_that_breaks_the_variance_bound() -> None:
    # A: 8.67 > 8; B on worker 0: loads 13, 12, 14 -> 2/3
    assert solve_p([A, B, C], LOADS, 3.0, 1, 8.0) == [B]


def test_solvep_duplicates_to_f_workers_updating_loads() -> None:
    # after A (10, 12, 17), B: 13, 12, 17 -> 14/3; after B, C: 13, 15, 17 -> 8/3
    assert solve_p([A, B, C], LOADS, 3.0, 2, 9.0) == [A, B]
    assert solve_p([A, B, C], LOADS, 3.0, 3, 9.0) == [A, B, C]
    # loads 10, 13, 14: A -> 10, 13, 17 (74/9 <= 9); then C -> 10, 16, 17 (86/9 > 9)
    assert solve_p([A, C], [10.0, 13.0, 14.0], 3.0, 2, 9.0) == [A]
    # ... but B -> 13, 13, 17 (32/9)
    assert solve_p([A, B, C], [10.0, 13.0, 14.0], 3.0, 2, 9.0) == [A, B]


def test_solvep_one_cluster_per_worker_and_no_zero_benefit() -> None:
    a2 = Candidate(4, worker=2, benefit=0.8)
    assert solve_p([A, a2, B], LOADS, 3.0, 2, 9.0) == [A, B]
    assert solve_p([Candidate(5, 0, 0.0)], LOADS, 3.0, 1, 100.0) == []
    assert solve_p([], LOADS, 3.0, 1, 100.0) == []


def _balancer(v: float = 9.0) -> Balancer:
    return Balancer(BalanceConfig(workers=2, v_max=v, lam=2.0))


def test_first_flow_founds_a_cluster_on_the_least_loaded_worker() -> None:
    b = _balancer()
    b.set_loads([5.0, 1.0])
    d = b.assign(F1, 0.0, 1.0)
    assert (d.workers, d.created) == ((1,), True)
    assert b.clusters[d.clusters[0]].weight == 1.0
    assert b.loads == [5.0, 2.0]


def test_a_correlated_flow_joins_the_cluster() -> None:
    b = _balancer()
    first = b.assign(F1, 0.0, 1.0)
    d = b.assign(F2, 1.0, 1.0)  # benefit (1 - 0.1) * 0.5; loads 2, 0: variance 1 <= 9
    assert (d.workers, d.clusters, d.created) == ((0,), first.clusters, False)
    c = b.clusters[first.clusters[0]]
    assert c.weight == pytest.approx(0.726209, abs=1e-6)
    assert c.size == 2


def test_variance_bound_sends_the_flow_to_a_new_cluster() -> None:
    b = _balancer(v=0.5)
    b.assign(F1, 0.0, 1.0)
    d = b.assign(F2, 1.0, 1.0)  # joining would make loads 2, 0: variance 1 > 0.5
    assert (d.workers, d.created) == ((1,), True)
    assert len(b.clusters) == 2


def test_light_clusters_expire_when_there_are_more_than_m_max() -> None:
    b = Balancer(BalanceConfig(workers=2, lam=2.0, m_max=2, th_w=0.3))
    far = [
        Flow.of("10.0.0.1", "192.0.2.1", 1, 1, TCP),
        Flow.of("10.0.1.1", "198.51.100.1", 2, 2, UDP),
        Flow.of("10.0.2.1", "203.0.113.1", 3, 3, 47),
    ]
    a = b.assign(far[0], 0.0, 0.0)
    c = b.assign(far[1], 1.0, 0.0)
    assert (a.created, c.created, a.expired, c.expired) == (True, True, (), ())
    # at t = 2: weights 0.25 (a) and 0.5 (c): a is below th_w, c is not
    d = b.assign(far[2], 2.0, 0.0)
    assert d.created and d.expired == a.clusters
    assert set(b.clusters) == {c.clusters[0], d.clusters[0]}


def test_config_problems() -> None:
    assert BalanceConfig(workers=4).problems() == []
    bad = BalanceConfig(workers=2, f_max=3, lam=1.0, m_max=1)
    assert len(bad.problems()) == 3
    with pytest.raises(ValueError):
        Balancer(bad)


def test_kmedoids_separates_a_victims_flows_from_a_scanners() -> None:
    victim = [Flow.of(f"10.0.0.{i}", "192.0.2.10", 1000 + i, 80, TCP) for i in range(3)]
    scan = [Flow.of("10.1.2.3", f"203.0.113.{i}", 5555, 22, TCP) for i in range(4)]
    out = kmedoids(victim + scan, 2, CFG)
    assert sorted((m.dst == victim[0].dst, n) for m, n in out) == [(False, 4), (True, 3)]


def test_seed_gives_each_worker_one_cluster() -> None:
    b = _balancer()
    victim = [Flow.of(f"10.0.0.{i}", "192.0.2.10", 1000 + i, 80, TCP) for i in range(3)]
    scan = [Flow.of("10.1.2.3", f"203.0.113.{i}", 5555, 22, TCP) for i in range(4)]
    b.seed(victim + scan, 0.0)
    assert sorted(c.worker for c in b.clusters.values()) == [0, 1]
    d = b.assign(Flow.of("10.0.0.77", "192.0.2.10", 9, 80, TCP), 0.0, 1.0)
    assert b.clusters[d.clusters[0]].centroid.dst == victim[0].dst
