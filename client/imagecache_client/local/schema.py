"""The local index's SQLite schema; a cache of another version is started afresh."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4
HOLDERS = ("images", "files", "unsent", "assets")  # the tables whose rows hold a blob
SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, used_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_by_use ON blobs (used_at);
CREATE TABLE IF NOT EXISTS images (
    server TEXT NOT NULL, id TEXT NOT NULL, digest TEXT NOT NULL, expires_at REAL NOT NULL,
    sha256 TEXT NOT NULL, content_type TEXT NOT NULL, produced_at REAL NOT NULL,
    PRIMARY KEY (server, id));
CREATE INDEX IF NOT EXISTS images_by_query ON images (server, digest, expires_at);
CREATE INDEX IF NOT EXISTS images_by_expiry ON images (expires_at);
CREATE INDEX IF NOT EXISTS images_by_blob ON images (sha256);
CREATE TABLE IF NOT EXISTS files (
    server TEXT NOT NULL, owner TEXT NOT NULL, cache_id TEXT NOT NULL, sha256 TEXT NOT NULL, etag TEXT NOT NULL,
    filename TEXT NOT NULL, content_type TEXT NOT NULL, validated_at REAL NOT NULL,
    PRIMARY KEY (server, owner, cache_id));
CREATE INDEX IF NOT EXISTS files_by_blob ON files (sha256);
CREATE TABLE IF NOT EXISTS unsent (
    server TEXT NOT NULL, owner TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL, filename TEXT NOT NULL,
    PRIMARY KEY (server, owner, key));
CREATE TABLE IF NOT EXISTS assets (
    url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, etag TEXT NOT NULL, validated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS params (
    server TEXT NOT NULL, key TEXT NOT NULL, cache_id TEXT NOT NULL, PRIMARY KEY (server, key));
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS released (sha256 TEXT PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS image_gone AFTER DELETE ON images
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS image_replaced BEFORE INSERT ON images
    BEGIN INSERT OR IGNORE INTO released SELECT sha256 FROM images WHERE server = new.server AND id = new.id; END;
CREATE TRIGGER IF NOT EXISTS file_gone AFTER DELETE ON files
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS file_replaced BEFORE INSERT ON files
    BEGIN INSERT OR IGNORE INTO released SELECT sha256 FROM files
          WHERE server = new.server AND owner = new.owner AND cache_id = new.cache_id; END;
CREATE TRIGGER IF NOT EXISTS unsent_gone AFTER DELETE ON unsent
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS asset_gone AFTER DELETE ON assets
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS asset_replaced BEFORE INSERT ON assets
    BEGIN INSERT OR IGNORE INTO released SELECT sha256 FROM assets WHERE url = new.url; END;
INSERT OR IGNORE INTO totals VALUES ('blobs', 0);
"""


def lay_out(db: sqlite3.Connection) -> list[str]:
    """Drop whatever tables there are and create this version's (inside the caller's transaction): those dropped."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        db.execute(f'DROP TABLE "{table}"')
    for statement in SCHEMA.split(";\n"):  # a statement ends a line (triggers hold ";" inside)
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return tables
