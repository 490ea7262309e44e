-- The applicant a window clerk is registering at the counter (one at a time per clerk),
-- one-time activation codes with which counter-registered applicants set their password,
-- and the result document a department attaches to its decision.
CREATE TABLE counter_sessions (
    clerk_id BIGINT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    applicant_id BIGINT NOT NULL REFERENCES accounts (id),
    started_at TIMESTAMP NOT NULL
);

CREATE TABLE activation_codes (
    account_id BIGINT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    code_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

ALTER TABLE sub_cases ADD COLUMN result_upload TEXT;
