DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_log;
DROP TABLE login_throttle;
DROP TABLE revoked_tokens;
DROP TABLE accounts;
