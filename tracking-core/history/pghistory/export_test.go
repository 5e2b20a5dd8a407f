package pghistory

// Fallbacks is how many batches s wrote through the staging table.
func (s *Store) Fallbacks() uint64 { return s.fallbacks.Load() }

// Schema is the schema s keeps its table in.
func (s *Store) Schema() string { return s.cfg.Schema }
