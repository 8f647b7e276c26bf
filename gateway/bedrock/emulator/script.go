package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// directivePrefix starts a script line in the last user message.
const directivePrefix = "@emulator "

// script is what the directives of one request ask for. The zero value is
// the default behaviour: a deterministic reply derived from the prompt.
type script struct {
	text      []string   // @emulator text <literal>, joined by newlines
	tools     []toolCall // @emulator tool <name> <json-object-args>
	errType   string     // @emulator error <ExceptionName> [message]
	errMsg    string
	errTimes  int // with errType: fail only the first errTimes requests (0 = always)
	streamErr string
	streamMsg string
	streamAt  int           // @emulator stream-error <ExceptionName> after <n>
	latency   time.Duration // @emulator latency <ms>: before the response starts
	delay     time.Duration // @emulator delay <ms>: before every stream delta
	maxTokens bool          // @emulator max-tokens
	guardrail bool          // @emulator guardrail
	cacheRead int           // @emulator cache read N write M
	cacheWrit int
	cacheW1h  int // @emulator cache read N write M [1h K]: K of the M are 1-hour writes
	cacheSet  bool
	usageIn   int // @emulator usage in N out M
	usageOut  int
	usageSet  bool
	thinking  string // @emulator thinking <text>: the reasoning text
	prompt    string // the non-directive text of the last user message
}

type toolCall struct {
	name  string
	input json.RawMessage
}

// parseScript reads the directives of the last user message. A malformed
// directive is a ValidationException naming the line, so a test with a typo
// fails loudly instead of silently taking the default path.
func parseScript(msgs []bedrock.Message) (*script, error) {
	sc := &script{}
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != bedrock.RoleUser {
		return sc, nil
	}
	var prompt []string
	for _, b := range msgs[len(msgs)-1].Content {
		if b.Text == nil {
			continue
		}
		for _, line := range strings.Split(*b.Text, "\n") {
			trimmed := strings.TrimSpace(line)
			if !strings.HasPrefix(trimmed, directivePrefix) {
				if trimmed != "" {
					prompt = append(prompt, trimmed)
				}
				continue
			}
			if err := sc.parseLine(strings.TrimSpace(trimmed[len(directivePrefix):])); err != nil {
				return nil, fmt.Errorf("emulator directive %q: %w", trimmed, err)
			}
		}
	}
	sc.prompt = strings.Join(prompt, " ")
	return sc, nil
}

func (sc *script) parseLine(line string) error {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "text":
		sc.text = append(sc.text, rest)
	case "thinking":
		sc.thinking = rest
	case "tool":
		name, args, _ := strings.Cut(rest, " ")
		args = strings.TrimSpace(args)
		if args == "" {
			args = "{}"
		}
		var obj map[string]any
		if name == "" || json.Unmarshal([]byte(args), &obj) != nil {
			return fmt.Errorf("want: tool <name> <json-object-args>")
		}
		compact, _ := json.Marshal(obj)
		sc.tools = append(sc.tools, toolCall{name: name, input: compact})
	case "error":
		sc.errType, sc.errMsg, _ = strings.Cut(rest, " ")
		if sc.errType == "" {
			return fmt.Errorf("want: error <ExceptionName> [message]")
		}
	case "error-once":
		sc.errType, sc.errMsg, _ = strings.Cut(rest, " ")
		sc.errTimes = 1
		if sc.errType == "" {
			return fmt.Errorf("want: error-once <ExceptionName> [message]")
		}
	case "error-times":
		n, after, _ := strings.Cut(rest, " ")
		times, err := strconv.Atoi(n)
		if err != nil || times < 1 {
			return fmt.Errorf("want: error-times <N> <ExceptionName> [message]")
		}
		sc.errTimes = times
		sc.errType, sc.errMsg, _ = strings.Cut(strings.TrimSpace(after), " ")
		if sc.errType == "" {
			return fmt.Errorf("want: error-times <N> <ExceptionName> [message]")
		}
	case "stream-error":
		f := strings.Fields(rest)
		if len(f) < 3 || f[1] != "after" {
			return fmt.Errorf("want: stream-error <ExceptionName> after <n> [message]")
		}
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 0 {
			return fmt.Errorf("want: stream-error <ExceptionName> after <n> [message]")
		}
		sc.streamErr, sc.streamAt, sc.streamMsg = f[0], n, strings.Join(f[3:], " ")
	case "latency", "delay":
		ms, err := strconv.Atoi(rest)
		if err != nil || ms < 0 || ms > 600000 {
			return fmt.Errorf("want: %s <milliseconds>", verb)
		}
		if verb == "latency" {
			sc.latency = time.Duration(ms) * time.Millisecond
		} else {
			sc.delay = time.Duration(ms) * time.Millisecond
		}
	case "max-tokens":
		sc.maxTokens = true
	case "guardrail":
		sc.guardrail = true
	case "cache":
		f := strings.Fields(rest)
		const want = "want: cache read <N> write <M> [1h <K>]"
		if (len(f) != 4 && len(f) != 6) || f[0] != "read" || f[2] != "write" || (len(f) == 6 && f[4] != "1h") {
			return errors.New(want)
		}
		var err1, err2, err3 error
		sc.cacheRead, err1 = strconv.Atoi(f[1])
		sc.cacheWrit, err2 = strconv.Atoi(f[3])
		if len(f) == 6 {
			sc.cacheW1h, err3 = strconv.Atoi(f[5])
		}
		if err1 != nil || err2 != nil || err3 != nil || sc.cacheRead < 0 || sc.cacheWrit < 0 || sc.cacheW1h < 0 || sc.cacheW1h > sc.cacheWrit {
			return errors.New(want)
		}
		sc.cacheSet = true
	case "usage":
		f := strings.Fields(rest)
		if len(f) != 4 || f[0] != "in" || f[2] != "out" {
			return fmt.Errorf("want: usage in <N> out <M>")
		}
		var err1, err2 error
		sc.usageIn, err1 = strconv.Atoi(f[1])
		sc.usageOut, err2 = strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || sc.usageIn < 0 || sc.usageOut < 0 {
			return fmt.Errorf("want: usage in <N> out <M>")
		}
		sc.usageSet = true
	default:
		return fmt.Errorf("unknown directive %q", verb)
	}
	return nil
}

// cacheDetails is the scripted cache writes broken down by TTL, 1h first
// as Bedrock sorts them.
func (sc *script) cacheDetails() []bedrock.CacheDetail {
	var d []bedrock.CacheDetail
	if sc.cacheW1h > 0 {
		d = append(d, bedrock.CacheDetail{InputTokens: sc.cacheW1h, TTL: "1h"})
	}
	if n := sc.cacheWrit - sc.cacheW1h; n > 0 {
		d = append(d, bedrock.CacheDetail{InputTokens: n, TTL: "5m"})
	}
	return d
}
