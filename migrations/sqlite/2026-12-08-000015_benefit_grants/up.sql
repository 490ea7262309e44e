-- 免申即享: an enterprise granted a policy's benefit without applying, decided from the
-- enterprise registry, with the reasons it qualified. One grant per policy and enterprise.
CREATE TABLE benefit_grants (
    policy_id BIGINT NOT NULL REFERENCES policies (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    policy_version INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (policy_id, account_id)
);
CREATE INDEX benefit_grants_account ON benefit_grants (account_id);
