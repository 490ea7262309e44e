DROP TABLE messages;
DROP TRIGGER case_events_no_change ON case_events;
DROP FUNCTION case_events_append_only();
DROP TABLE case_events;
DROP INDEX cases_due;
ALTER TABLE cases DROP COLUMN due_date;
ALTER TABLE cases DROP COLUMN workflow;
