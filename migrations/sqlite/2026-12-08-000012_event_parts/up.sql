-- The part a decision or certificate event is about, so reviewers of other departments
-- are not shown it; NULL for events of the whole case.
ALTER TABLE case_events ADD COLUMN sub_case_id BIGINT;
