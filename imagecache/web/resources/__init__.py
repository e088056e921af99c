"""One module per API: the Kentik-style requests and images, /info, /metrics, /health, /openapi.json and /v1."""
