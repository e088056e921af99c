"""The HTTP layer: the Falcon app (app.py), its resources, middleware and request bodies, and serving blobs."""
