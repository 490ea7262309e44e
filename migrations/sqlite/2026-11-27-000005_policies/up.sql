-- The enterprise benefit-policy library: the current state of each policy, every version
-- of it, and a change log that the search indexes of all servers follow.
CREATE TABLE policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    issuer TEXT NOT NULL,
    published_on TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to TEXT,
    apply_deadline TEXT,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX policies_status ON policies (status);
CREATE INDEX policies_published_on ON policies (published_on);

CREATE TABLE policy_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    policy_id BIGINT NOT NULL REFERENCES policies (id),
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    content TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    UNIQUE (policy_id, version)
);

CREATE TABLE policy_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    policy_id BIGINT NOT NULL,
    at TIMESTAMP NOT NULL
);
