-- Signed e-certificates (电子证照): the payload exactly as it was signed, the signature and
-- the key that made it. A revocation is recorded on the row, never by deleting it.
CREATE TABLE certificates (
    certificate_no TEXT PRIMARY KEY NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    sub_case_id BIGINT NOT NULL REFERENCES sub_cases (id),
    department_code TEXT NOT NULL REFERENCES departments (code),
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT,
    revoked_by TEXT
);
CREATE INDEX certificates_case ON certificates (case_id);
