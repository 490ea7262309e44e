-- Smart approval (智慧审批). An item is a smart-approval item when forms/rules/ declares a
-- decision table for it; the flag is kept beside the other columns the item list filters on.
ALTER TABLE items ADD COLUMN smart_approval BOOLEAN NOT NULL DEFAULT FALSE;

-- The local reference registries (基础数据库): one row per registry and key. The key is
-- kept only as a keyed hash and the record only sealed, like every other piece of
-- personal data.
CREATE TABLE registry_records (
    registry TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    record_enc TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (registry, key_hash)
);

-- Every registry lookup: who, for which case, which registry, the key's and the answer's
-- digests (never the key or the answer), and how it went.
CREATE TABLE registry_lookups (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    account_id BIGINT,
    receipt_no TEXT NOT NULL,
    registry TEXT NOT NULL,
    adapter TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    answer_digest TEXT NOT NULL,
    outcome TEXT NOT NULL,
    elapsed_ms BIGINT NOT NULL
);
CREATE INDEX registry_lookups_receipt ON registry_lookups (receipt_no);

-- The rules' decision on a part of a case, with its explanation, whether or not the
-- system then decided the part itself.
CREATE TABLE smart_decisions (
    sub_case_id BIGINT PRIMARY KEY NOT NULL REFERENCES sub_cases (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    item_code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rule_no INTEGER,
    reason TEXT NOT NULL,
    explanation TEXT NOT NULL,
    evaluated_at TIMESTAMP NOT NULL
);
CREATE INDEX smart_decisions_case ON smart_decisions (case_id);
