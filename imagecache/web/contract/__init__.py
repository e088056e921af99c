"""The HTTP contract: every request and answer body, and every query, as one typed model.

The models validate what comes in (reading.py), shape what goes out, and are
what /openapi.json is made of (openapi.py): a limit is written once, on its
field, and the document says exactly what the resources refuse.
"""
