"""The RQ side of imagecache: jobs, the threaded worker and the maintenance loop."""
