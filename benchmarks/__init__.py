"""The benchmarks: one question per module, run as `python -m benchmarks.NAME` from the
repository root (see docs/benchmarks.md); what they share is in benchmarks/harness.py."""
