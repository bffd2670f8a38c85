-- A copied template is `custom` and remembers the template it was copied from (kept as text:
-- the source may be deleted later).
ALTER TABLE templates ADD COLUMN copied_from TEXT;
