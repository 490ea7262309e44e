-- Official holiday years entered by administrators from the State Council's annual notice.
-- Every change is a new row (append-only): the current data of a year is its highest
-- version; the highest id tells every server whether its calendar is current.
CREATE TABLE calendar_years (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    year INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    source_note TEXT NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    recomputed INTEGER NOT NULL,
    UNIQUE (year, version)
);

CREATE TRIGGER calendar_years_no_update BEFORE UPDATE ON calendar_years
BEGIN SELECT RAISE(ABORT, 'calendar_years is append-only'); END;
CREATE TRIGGER calendar_years_no_delete BEFORE DELETE ON calendar_years
BEGIN SELECT RAISE(ABORT, 'calendar_years is append-only'); END;
