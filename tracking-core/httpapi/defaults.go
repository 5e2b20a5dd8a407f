package httpapi

// WithDefaults returns c with the defaults New fills in, so that a reader of
// settings (tracking-core/service) offers them without writing them again.
func (c Config) WithDefaults() Config { c.setDefaults(); return c }
