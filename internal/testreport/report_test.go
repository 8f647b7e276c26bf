package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// events is a go test -json run of three packages: one passing with two
// skips for want of a server, one failing, one that did not build.
const events = `{"Action":"start","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit"}
{"Action":"run","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestRedis"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestRedis","Output":"=== RUN   TestRedis\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestRedis","Output":"    redis_test.go:20: TEST_REDIS_ADDR is not set: start redis-server\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}
{"Action":"skip","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestRedis"}
{"Action":"run","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestLimits/Redis"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestLimits/Redis","Output":"        limits_test.go:9: TEST_REDIS_ADDR is not set: start redis-server\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestLimits/Redis","Output":"    --- SKIP: TestLimits/Redis (0.00s)\n"}
{"Action":"skip","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestLimits/Redis"}
{"Action":"run","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestMemory"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestMemory","Output":"    memory_test.go:5: a log line of a passing test\n"}
{"Action":"pass","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Test":"TestMemory"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Output":"PASS\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit","Output":"ok  \tgithub.com/openai-api-convertor/convertor/gateway/ratelimit\t0.5s\n"}
{"Action":"pass","Package":"github.com/openai-api-convertor/convertor/gateway/ratelimit"}
{"Action":"run","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestSQS"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestSQS","Output":"    sqs_test.go:3: TEST_SQS_ENDPOINT is not set\n"}
{"Action":"skip","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestSQS"}
{"Action":"run","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestBroken"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestBroken","Output":"=== RUN   TestBroken\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestBroken","Output":"    broken_test.go:7: got 1, want 2\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestBroken","Output":"--- FAIL: TestBroken (0.00s)\n"}
{"Action":"fail","Package":"github.com/openai-api-convertor/convertor/events","Test":"TestBroken"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Output":"FAIL\n"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/events","Output":"FAIL\tgithub.com/openai-api-convertor/convertor/events\t0.1s\n"}
{"Action":"fail","Package":"github.com/openai-api-convertor/convertor/events"}
{"ImportPath":"github.com/openai-api-convertor/convertor/accountant","Action":"build-output","Output":"accountant/x.go:1:1: syntax error\n"}
{"ImportPath":"github.com/openai-api-convertor/convertor/accountant","Action":"build-fail"}
{"Action":"output","Package":"github.com/openai-api-convertor/convertor/accountant","Output":"FAIL\tgithub.com/openai-api-convertor/convertor/accountant [build failed]\n"}
not an event: go test's own complaint
`

func TestReport(t *testing.T) {
	var out strings.Builder
	r := newReport(&out)
	if err := r.read(strings.NewReader(events)); err != nil {
		t.Fatal(err)
	}
	r.summary()
	want := `ok  	github.com/openai-api-convertor/convertor/gateway/ratelimit	0.5s
    broken_test.go:7: got 1, want 2
--- FAIL: TestBroken (0.00s)
FAIL
FAIL	github.com/openai-api-convertor/convertor/events	0.1s
accountant/x.go:1:1: syntax error
FAIL	github.com/openai-api-convertor/convertor/accountant [build failed]
not an event: go test's own complaint

skipped 3 tests, by reason:
     2  TEST_REDIS_ADDR is not set: start redis-server
        in gateway/ratelimit
     1  TEST_SQS_ENDPOINT is not set
        in events
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s", diff)
	}
}

func TestReport_NothingSkipped(t *testing.T) {
	var out strings.Builder
	r := newReport(&out)
	r.read(strings.NewReader(`{"Action":"output","Package":"example.com/p","Output":"ok  \texample.com/p\t0.1s\n"}` + "\n"))
	r.summary()
	if got := out.String(); got != "ok  \texample.com/p\t0.1s\n" {
		t.Errorf("output = %q, want the package line and no summary", got)
	}
}

func TestSkipReason(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"    a_test.go:3: first\n", "    a_test.go:4: the skip\n"}, "the skip"},
		{[]string{"--- SKIP: TestX (0.00s)\n"}, "(no reason given)"},
		{nil, "(no reason given)"},
	} {
		if got := skipReason(tc.lines); got != tc.want {
			t.Errorf("skipReason(%q) = %q, want %q", tc.lines, got, tc.want)
		}
	}
}
