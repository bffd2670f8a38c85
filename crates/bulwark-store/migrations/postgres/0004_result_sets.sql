-- A scan's per-check results as one compressed document instead of one indexed row per check:
-- ingest wrote 160-300 rows and their index entries per scan, and the database grew by 60 KB
-- per scan; results are only ever read a whole scan at a time. `encoding` says how `body` is
-- written: 'json' (rows moved here by this migration) or 'json+zstd' (written by ingest).
CREATE TABLE scan_result_sets (
    scan_id TEXT PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
    encoding TEXT NOT NULL,
    body BYTEA NOT NULL
);
-- The body is compressed already; TOAST compressing it again only costs time.
ALTER TABLE scan_result_sets ALTER COLUMN body SET STORAGE EXTERNAL;

INSERT INTO scan_result_sets (scan_id, encoding, body)
SELECT scan_id, 'json', convert_to(json_agg(json_build_object(
    'check_id', check_id, 'status', status, 'severity', severity, 'category', category, 'title', title,
    'actual', actual, 'expected', expected, 'reason', reason) ORDER BY check_id)::text, 'UTF8')
FROM scan_results
GROUP BY scan_id;

DROP TABLE scan_results;
