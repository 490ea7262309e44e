-- Uploaded materials, applications (办件) and their per-department parts (子件).

-- An upload's bytes live content-addressed under <data dir>/uploads; this row makes them
-- one applicant's, and only theirs to link.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    receipt_no TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    bundle_code TEXT NOT NULL REFERENCES bundles (code),
    bundle_version INTEGER NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    answers TEXT NOT NULL,
    data_enc TEXT NOT NULL,
    trips INTEGER NOT NULL,
    version INTEGER NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cases_account ON cases (account_id, submitted_at);
CREATE INDEX cases_status ON cases (status, submitted_at);

CREATE TABLE sub_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    item_code TEXT NOT NULL REFERENCES items (code),
    department_code TEXT NOT NULL REFERENCES departments (code),
    status TEXT NOT NULL,
    data_enc TEXT NOT NULL,
    materials TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX sub_cases_case ON sub_cases (case_id);
CREATE INDEX sub_cases_department ON sub_cases (department_code, status);
CREATE INDEX uploads_account ON uploads (account_id);

-- One draft per applicant and bundle; the form data is encrypted like every stored value
-- that may hold personal data.
CREATE TABLE drafts (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    bundle_code TEXT NOT NULL REFERENCES bundles (code),
    answers TEXT NOT NULL,
    data_enc TEXT NOT NULL,
    materials TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, bundle_code)
);

CREATE TABLE case_materials (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    material_code TEXT NOT NULL REFERENCES materials (code),
    upload_id TEXT NOT NULL REFERENCES uploads (id),
    PRIMARY KEY (case_id, material_code, upload_id)
);

-- Idempotency-Key records of application submissions (IETF httpapi idempotency draft).
CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Daily sequence behind receipt numbers (受理编号).
CREATE TABLE receipt_counters (
    day TEXT PRIMARY KEY NOT NULL,
    last_value BIGINT NOT NULL
);
