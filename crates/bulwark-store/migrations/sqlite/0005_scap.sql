-- SCAP: imported source data streams, kept whole (zstd) under their SHA-256 so that an agent
-- runs exactly the file a template was imported from; templates that run one through oscap;
-- files a scan produced (the ARF that oscap wrote).
CREATE TABLE scap_datastreams (
    digest TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    body BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- The template's ScapSource as JSON, and its data stream's digest for access checks.
ALTER TABLE templates ADD COLUMN scap_source TEXT;
ALTER TABLE templates ADD COLUMN datastream TEXT REFERENCES scap_datastreams(digest);
CREATE INDEX templates_by_datastream ON templates (datastream);

CREATE TABLE scan_artifacts (
    scan_id TEXT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scan_id, kind)
);
