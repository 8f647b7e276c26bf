package bedrock

// IdleConns returns how many connections c's pool holds, for tests.
func IdleConns(c *Client) int {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	return len(c.tr.idle)
}

// IdleConnsClosed reports whether c's pool holds connections and the
// server closed every one of them, for tests.
func IdleConnsClosed(c *Client) bool {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	for _, uc := range c.tr.idle {
		if idleConnOpen(uc.raw) {
			return false
		}
	}
	return len(c.tr.idle) > 0
}

// CloseIdleConns closes the connections c's pool holds, for tests.
func CloseIdleConns(c *Client) { c.tr.closeIdle() }
