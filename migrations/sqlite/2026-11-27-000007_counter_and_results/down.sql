ALTER TABLE sub_cases DROP COLUMN result_upload;
DROP TABLE activation_codes;
DROP TABLE counter_sessions;
