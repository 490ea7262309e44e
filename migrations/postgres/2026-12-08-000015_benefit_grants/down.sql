DROP TABLE benefit_grants;
