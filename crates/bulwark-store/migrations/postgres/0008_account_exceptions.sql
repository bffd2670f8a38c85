-- An account-wide exception (org_id NULL) waives a rule in every organization; only an
-- account-wide user creates, changes or revokes one.
ALTER TABLE exceptions ALTER COLUMN org_id DROP NOT NULL;
