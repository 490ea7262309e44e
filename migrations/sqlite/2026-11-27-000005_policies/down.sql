DROP TABLE policy_changes;
DROP TABLE policy_versions;
DROP TABLE policies;
