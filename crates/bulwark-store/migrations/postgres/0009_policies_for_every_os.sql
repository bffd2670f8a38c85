-- A policy may cover every OS type without a policy of its own (os_kind 'all'): it names a
-- CIS level instead of a template.
ALTER TABLE policies ALTER COLUMN template_id DROP NOT NULL;
ALTER TABLE policies ADD COLUMN cis_level TEXT;
