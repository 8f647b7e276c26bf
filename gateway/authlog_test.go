package gateway

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServer_MalformedAuthorizationNotLogged sends requests whose
// Authorization line the HTTP parser cannot read, or whose value is not
// Bearer: each gets a 4xx and no log line, at any level, holds the key.
func TestServer_MalformedAuthorizationNotLogged(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	const secret = "sk-NeverLogMe0123456789abcdefghijklmnopqrstuvwxy"
	addr := strings.TrimPrefix(ts.URL, "http://")
	for name, head := range map[string]string{
		"missing colon": "Authorization Bearer " + secret + "\r\n",
		"NUL byte":      "Authorization: Bearer " + secret + "\x00x\r\n",
		"folded line":   "X-Note: a\r\n Authorization: Bearer " + secret + "\r\n",
		"not bearer":    "Authorization: Basic " + secret + "\r\n",
		"no scheme":     "Authorization: " + secret + "\r\n",
		"control chars": "Authorization: Bearer\t" + secret + "\x01\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`
			req := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n" + head +
				"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
			if _, err := conn.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			status, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			if !strings.Contains(status, " 400 ") && !strings.Contains(status, " 401 ") {
				t.Errorf("status line %q, want 400 or 401", strings.TrimSpace(status))
			}
		})
	}
	waitFor(t, "every request logged", func() bool { return strings.Count(ts.logs.String(), "request_id") >= 6 })
	if logs := ts.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, secret[:20]) {
		t.Errorf("a log line holds the key:\n%s", logs)
	}
}
