-- Policy imports started from the admin pages, in the database so that whichever server
-- a policy editor's next request reaches can report the progress and the outcome.
CREATE TABLE import_jobs (
    -- Random, so that a job's address reveals nothing about the others.
    id TEXT PRIMARY KEY NOT NULL,
    started_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    done BIGINT NOT NULL,
    total BIGINT NOT NULL,
    finished BOOLEAN NOT NULL,
    -- JSON: the report, the row errors or the failure, once finished.
    outcome TEXT
);
