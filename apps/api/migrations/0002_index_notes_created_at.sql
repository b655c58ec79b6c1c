-- The list endpoint reads the newest notes first.
CREATE INDEX notes_created_at ON notes (created_at);
