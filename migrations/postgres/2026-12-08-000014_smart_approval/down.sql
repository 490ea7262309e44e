DROP TABLE smart_decisions;
DROP TABLE registry_lookups;
DROP TABLE registry_records;
ALTER TABLE items DROP COLUMN smart_approval;
