package devices

// Waiters returns how many lookups wait for the store read of id in flight.
func (c *Cache) Waiters(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.calls[id]; call != nil {
		return call.waiters
	}
	return 0
}

// Len returns the number of ids cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
