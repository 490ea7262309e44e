-- Accounts of applicants (citizens, enterprises) and staff, security state, and the
-- append-only audit log. ID numbers and phones are stored encrypted, with a keyed hash
-- (HMAC) beside them for uniqueness and login lookup.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    username TEXT UNIQUE,
    display_name TEXT NOT NULL,
    id_number_enc TEXT,
    id_number_hash TEXT UNIQUE,
    phone_enc TEXT,
    phone_hash TEXT UNIQUE,
    uscc TEXT UNIQUE,
    legal_representative TEXT,
    contact_name TEXT,
    industry TEXT,
    scale TEXT,
    department_code TEXT REFERENCES departments (code),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    tokens_valid_after TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_role ON accounts (role);

-- Tokens ended by logout before their expiry; rows past expiry can be purged.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Failed-login counters per account key and per client address.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
