-- How a case was filed: NULL by the account holder for themselves, else the 代办 (JSON:
-- the relationship of the filing account to the applicant named in the form). Drafts keep
-- the choice while the form is being filled in.
ALTER TABLE cases ADD COLUMN agency TEXT;
ALTER TABLE drafts ADD COLUMN filing TEXT;
