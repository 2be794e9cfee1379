"""`make bench` (bench/referrals.py) judges what it measured: the database
changes each scenario must leave, its targets, and the peer's figures read
from its load generator (bench/peer.py). The figures here are made up; no
test measures time."""

from bench import peer
from bench import referrals as bench
from bench.cpu import CpuMeter

PEER_OUTPUT = """seeded 100 100000
/referrals/ conc=4 n=3640 rps=182 p50=20.4ms p99=48.1ms errors=0
pairs 2000
GET conc=4 n=6200 rps=310 p50=11.9ms p99=30.2ms errors=2
"""


def _result(name: str, requests: int, *, seconds: float = 10.0, latency: float = 0.02) -> bench.Result:
    result = bench.Result(name, seconds, latencies=[latency] * requests)
    result.succeeded_total = requests
    return result


def _by_name(**requests) -> dict[str, bench.Result]:
    return {name.replace("_", " "): _result(name.replace("_", " "), n) for name, n in requests.items()}


def test_a_read_is_expected_to_record_one_disclosure_entry():
    by_name = _by_name(create=100, baseline_create=200, read=150, baseline_read=300)
    deltas = {
        "create": {"referrals": 100, "outbox": 100, "disclosures": 0},
        "baseline create": {"referrals": 200, "outbox": 0, "disclosures": 0},
        "read": {"referrals": 0, "outbox": 0, "disclosures": 150},
        "baseline read": {"referrals": 0, "outbox": 0, "disclosures": 0},
    }

    assert not any("MISMATCH" in line for line in bench._checks(deltas, by_name))
    deltas["read"]["disclosures"] = 300  # two entries per read would be a leak of the old kind
    assert "MISMATCH" in next(line for line in bench._checks(deltas, by_name) if line.startswith("read"))


def test_both_targets_against_the_baseline_are_sixty_percent():
    assert bench.TARGETS == {"create": 0.60, "read": 0.60}
    by_name = _by_name(create=60, baseline_create=100, read=59, baseline_read=100)

    create, read = [line for line in bench._verdicts(by_name) if not line.startswith(" ")]

    assert create.startswith("create") and create.endswith("PASS")
    assert read.startswith("read") and read.endswith("BELOW")


def test_the_peers_figures_are_read_from_its_output():
    cpu = {"create": {"server": 7.28, "database": 3.64}, "read": {"server": 12.4, "database": 6.2}}  # seconds

    figures = peer.peer_figures(PEER_OUTPUT, cpu)

    assert figures == {
        "create": peer.PeerFigure(rate=182.0, p50=20.4, p99=48.1, errors=0, server_ms=2.0, database_ms=1.0),
        "read": peer.PeerFigure(rate=310.0, p50=11.9, p99=30.2, errors=2, server_ms=2.0, database_ms=1.0),
    }


def test_cpu_per_side_counts_a_process_started_during_the_scenario_whole():
    before = {"server": {10: 1.0, 11: 2.0}, "database": {20: 5.0}, "client": {0: 3.0}}
    after = {"server": {10: 1.5, 11: 2.5}, "database": {20: 5.25, 21: 0.5}, "client": {0: 3.5}}

    assert CpuMeter.spent(before, after) == {"server": 1.0, "database": 0.75, "client": 0.5}


def test_the_verdicts_show_cpu_per_request_beside_the_rates():
    by_name = _by_name(create=60, baseline_create=100, read=50, baseline_read=100)
    by_name["read"].cpu, by_name["baseline read"].cpu = {"server": 0.3, "database": 0.1}, {"server": 0.2, "database": 0.1}

    lines = bench._verdicts(by_name)

    assert "8.00 ms, the baseline's 3.00 (37.5%)" in lines[-1]  # 0.4 s / 50 requests; 0.3 s / 100


def test_the_hub_passes_against_the_peer_only_at_its_rate_and_under_the_p99_bound():
    figures = peer.peer_figures(PEER_OUTPUT)
    by_name = {
        "create": _result("create", 1900, latency=0.020),  # 190 req/s, p99 20 ms
        "read": _result("read", 3200, latency=0.060),  # 320 req/s, p99 60 ms
    }

    _, create, read, *cpu = bench.peer_verdicts(by_name, figures)

    assert create.split()[0] == "create" and "1.04x" in create and create.split()[-1] == "PASS"
    assert read.split()[0] == "read" and "1.03x" in read and "BELOW" in read  # fast enough, but p99 too long
    assert "(peer errors: 2)" in read
