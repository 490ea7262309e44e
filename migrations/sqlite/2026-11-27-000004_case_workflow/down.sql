DROP TABLE messages;
DROP TRIGGER case_events_no_delete;
DROP TRIGGER case_events_no_update;
DROP TABLE case_events;
DROP INDEX cases_due;
ALTER TABLE cases DROP COLUMN due_date;
ALTER TABLE cases DROP COLUMN workflow;
