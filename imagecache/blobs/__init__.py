"""Blob stores: the BlobStore port (domain/ports.py) on a filesystem (filesystem.py) and on S3/MinIO (s3.py)."""
