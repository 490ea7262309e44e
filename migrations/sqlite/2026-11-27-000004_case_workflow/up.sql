-- The workflow state of each case (the state machine's case, as JSON) beside the columns
-- the queues filter on, the append-only timeline, and in-app messages to applicants.
ALTER TABLE cases ADD COLUMN workflow TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN due_date TEXT;
CREATE INDEX cases_due ON cases (status, due_date);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TIMESTAMP NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TIMESTAMP NOT NULL,
    body TEXT NOT NULL,
    read BOOLEAN NOT NULL
);
CREATE INDEX messages_account ON messages (account_id, id);
