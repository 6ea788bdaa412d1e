"""How long a test waits for any one thing (a server to start, a job to end, an event, a child process)."""

WAIT_S = 120.0
"""The ceiling of every polling deadline and client timeout in the suite: a hang shows in two minutes, not
fifteen. A ceiling, not an expectation: stories wait on events and held slots, never on how fast a job runs."""
