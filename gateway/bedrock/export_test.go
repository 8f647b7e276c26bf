package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/valyala/fasthttp"
)

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

// SignForBench signs a request as an attempt does, for BenchmarkSign.
func SignForBench(c *Client, modelID string, body []byte) error {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	sum := sha256.Sum256(body)
	var payloadHash [2 * sha256.Size]byte
	hex.Encode(payloadHash[:], sum[:])
	return c.sign(context.Background(), req, c.operationPath(modelID, "converse"), "application/json", len(body), payloadHash[:])
}
