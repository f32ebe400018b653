"""Overcast benchmark harness: request rate, wrk replay, startup time and memory."""
