"""The domain: records, errors, rules and the ports (Protocols) the adapters implement.

Imports the standard library, tenacity and the client's pure modules only: never
Falcon, RQ, redis or a storage SDK (import-linter keeps it so).
"""
