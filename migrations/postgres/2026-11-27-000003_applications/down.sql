DROP TABLE receipt_counters;
DROP TABLE idempotency_keys;
DROP TABLE case_materials;
DROP TABLE drafts;
DROP TABLE sub_cases;
DROP TABLE cases;
DROP TABLE uploads;
