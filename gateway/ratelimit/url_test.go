package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor"
)

func TestParseRedisURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		url      string
		addr     string
		password string
		db       int
		tls      bool
		read     time.Duration
		retries  int
	}{
		{"Plain", "redis://127.0.0.1:6379", "127.0.0.1:6379", "", 0, false, clientIOTimeout, clientMaxRetries},
		{"PasswordAndDB", "redis://:s3cret@cache:6380/2", "cache:6380", "s3cret", 2, false, clientIOTimeout, clientMaxRetries},
		{"TLS", "rediss://user:pw@primary.example:6379", "primary.example:6379", "pw", 0, true, clientIOTimeout, clientMaxRetries},
		{"QueryWins", "redis://h:1/0?read_timeout=2s&max_retries=4", "h:1", "", 0, false, 2 * time.Second, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			uc, err := ParseRedisURL(tc.url)
			if err != nil {
				t.Fatalf("ParseRedisURL() error = %v", err)
			}
			defer uc.Close()
			o := uc.(*redis.Client).Options()
			if o.Addr != tc.addr || o.Password != tc.password || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls {
				t.Errorf("options = addr %q password %q db %d tls %v; want %q %q %d %v",
					o.Addr, o.Password, o.DB, o.TLSConfig != nil, tc.addr, tc.password, tc.db, tc.tls)
			}
			if o.ReadTimeout != tc.read || o.MaxRetries != tc.retries {
				t.Errorf("read timeout %s, max retries %d; want %s, %d", o.ReadTimeout, o.MaxRetries, tc.read, tc.retries)
			}
			if o.DialTimeout != clientDialTimeout || !o.ContextTimeoutEnabled {
				t.Errorf("dial timeout %s, context timeouts %v; want %s, true", o.DialTimeout, o.ContextTimeoutEnabled, clientDialTimeout)
			}
		})
	}
}

func TestParseRedisURL_ErrInvalid(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379/notadb",
		"redis://:hunter2@127.0.0.1:6379/?bogus=1",
		"redis://:hunter2@[::1",
	} {
		_, err := ParseRedisURL(raw)
		if code := convertor.ErrorCode(err); code != convertor.EInvalid {
			t.Errorf("ParseRedisURL(%q) error = %v, want code %s", raw, err, convertor.EInvalid)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseRedisURL(%q) error %q reveals the password", raw, err)
		}
	}
}
