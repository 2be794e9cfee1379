"""CPU per request of a benchmark's sides: the server (gunicorn's master and
workers), the PostgreSQL backends connected to its database, and the client
(this process, whose threads drive the load).

On a shared machine the rates move with whatever else runs; the CPU each side
spends per request hardly does. Read from /proc (Linux): user + system time."""

import os
import time
from pathlib import Path

import psycopg

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone meanwhile
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


class CpuMeter:
    """CPU seconds per side, sampled before and after a scenario."""

    def __init__(self, server_pid: int, admin_url: str, database: str):
        self.server_pid, self.admin_url, self.database = server_pid, admin_url, database

    def _pids(self) -> dict[str, list[int]]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            backends = [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))]
        return {"server": [self.server_pid, *_children(self.server_pid)], "database": backends}

    def sample(self) -> dict[str, dict[int, float]]:
        sample = {side: {pid: _cpu_of(pid) for pid in pids} for side, pids in self._pids().items()}
        sample["client"] = {0: time.process_time()}
        return sample

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """Seconds per side; a process started meanwhile counts whole."""
        return {
            side: sum(cpu - before[side].get(pid, 0.0) for pid, cpu in after[side].items())
            for side in after
        }
