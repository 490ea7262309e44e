-- KPI aggregates kept exact inside every case transition: one fact row per finished case
-- (what it contributed, so that a later change subtracts exactly that), and per-day
-- counts per case and per (case, item) part. Days are local (UTC+8) dates.
CREATE TABLE case_facts (
    case_id BIGINT PRIMARY KEY NOT NULL REFERENCES cases (id),
    finished_at TIMESTAMP NOT NULL,
    day TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    trips INTEGER NOT NULL,
    overdue BOOLEAN NOT NULL,
    handling_days INTEGER,
    promised_days INTEGER NOT NULL,
    parts TEXT NOT NULL
);

CREATE TABLE metric_cases (
    day TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    finished BIGINT NOT NULL,
    zero_trip BIGINT NOT NULL,
    trips BIGINT NOT NULL,
    over_declared BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    handled BIGINT NOT NULL,
    handling_days BIGINT NOT NULL,
    promised_days BIGINT NOT NULL,
    PRIMARY KEY (day, bundle_code, channel)
);

CREATE TABLE metric_parts (
    day TEXT NOT NULL,
    bundle_code TEXT NOT NULL,
    item_code TEXT NOT NULL,
    department_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    high_frequency BOOLEAN NOT NULL,
    finished BIGINT NOT NULL,
    zero_trip BIGINT NOT NULL,
    trips BIGINT NOT NULL,
    over_declared BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    handled BIGINT NOT NULL,
    handling_days BIGINT NOT NULL,
    promised_days BIGINT NOT NULL,
    PRIMARY KEY (day, bundle_code, item_code, department_code, channel, high_frequency)
);
CREATE INDEX metric_parts_department ON metric_parts (department_code, day);
CREATE INDEX case_events_finished ON case_events (to_status, case_id, at);

-- 好差评: one rating per finished case, with optional per-department levels; a rating of
-- 不满意 or below opens a follow-up (整改) with a deadline in working days.
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    case_id BIGINT NOT NULL UNIQUE REFERENCES cases (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    level INTEGER NOT NULL,
    comment TEXT NOT NULL,
    day TEXT NOT NULL,
    rated_at TIMESTAMP NOT NULL,
    -- An appeal the administrator upheld takes the rating out of the satisfaction rate.
    excluded BOOLEAN NOT NULL
);
CREATE INDEX ratings_day ON ratings (day);

CREATE TABLE rating_parts (
    rating_id BIGINT NOT NULL REFERENCES ratings (id),
    department_code TEXT NOT NULL,
    level INTEGER NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (rating_id, department_code)
);
CREATE INDEX rating_parts_department ON rating_parts (department_code, day);

CREATE TABLE follow_ups (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    rating_id BIGINT NOT NULL UNIQUE REFERENCES ratings (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    status TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    due_date TEXT NOT NULL,
    visit_at TIMESTAMP,
    visit_note TEXT,
    outcome TEXT,
    resolved_at TIMESTAMP,
    appeal_reason TEXT,
    appealed_at TIMESTAMP,
    review_note TEXT,
    handled_by TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX follow_ups_status ON follow_ups (status, due_date);
