DROP TABLE follow_ups;
DROP TABLE rating_parts;
DROP TABLE ratings;
DROP INDEX case_events_finished;
DROP TABLE metric_parts;
DROP TABLE metric_cases;
DROP TABLE case_facts;
