"""The count of the adversarial tests' requests (issue 12, item 6 asks for it),
printed at the end of the run."""


def pytest_terminal_summary(terminalreporter):
    from .adversarial import REQUESTS

    if REQUESTS:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(REQUESTS.items()))
        terminalreporter.write_line(f"adversarial API requests: {counts} (total {sum(REQUESTS.values())})")
