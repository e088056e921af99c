"""Fetchers: the Fetcher port (domain/ports.py) from Kentik's API (kentik.py) or drawn locally (chart.py)."""
