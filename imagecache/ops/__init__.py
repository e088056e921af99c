"""Running it: the `imagecache` command, the web server, `up`'s supervisor, an embedded Redis, logging, admin."""
