"""Falcon middleware: request ids and API keys (request metrics live beside /metrics)."""
