"""imagecache: a job-result cache service."""
