package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// benchKeys spreads admissions over many keys, as real traffic does; the
// Hot variants put every admission on one key, the worst case for a key's
// lock or hash.
const benchKeys = 1024

// benchLimits never refuse within a benchmark, so every call takes the
// counting path.
var benchLimits = Limits{Requests: 1 << 40, Tokens: 1 << 50, Window: time.Minute}

func BenchmarkRedisLimiter_Admit(b *testing.B) {
	l := NewRedis(testenv.Redis(b), RedisOptions{Prefix: testenv.Prefix(b), Timeout: 5 * time.Second})
	benchAdmit(b, l)
}

func BenchmarkMemoryLimiter_Admit(b *testing.B) {
	benchAdmit(b, NewMemory(MemoryOptions{}))
}

func benchAdmit(b *testing.B, l Limiter) {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	// Check once before timing that the limiter counts.
	d, err := l.Admit(context.Background(), "check", Limits{Requests: 1}, 1)
	if err != nil || !d.Allowed || d.Degraded {
		b.Fatalf("Admit() = %+v, %v; want a counted admission", d, err)
	}
	for _, bc := range []struct {
		name string
		key  func(i uint64) string
	}{
		{"Spread", func(i uint64) string { return keys[i%benchKeys] }},
		{"Hot", func(uint64) string { return "hot" }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var next atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					d, err := l.Admit(ctx, bc.key(next.Add(1)), benchLimits, 1000)
					if err != nil || !d.Allowed || d.Degraded {
						b.Errorf("Admit() = allowed %v degraded %v, %v", d.Allowed, d.Degraded, err)
						return
					}
				}
			})
		})
	}
}
