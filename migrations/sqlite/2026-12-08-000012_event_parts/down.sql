ALTER TABLE case_events DROP COLUMN sub_case_id;
