package bedrock

import "unicode/utf8"

// The events of a stream in their usual shapes are decoded by a small
// scanner rather than by encoding/json's reflection, which costs several
// times the frame's own reading, so most of a reply streamed a token at a
// time. A fast path accepts only JSON it can vouch for — an object of known
// keys, each once, with values of the expected type, strings without \u
// escapes, integers of at most 18 digits — and reports false for anything
// else; encoding/json then decodes the event as before. FuzzFastEvents
// holds every fast path to encoding/json's result.

// scanner reads one JSON object's members from b. It never allocates but
// for the strings it returns.
type scanner struct {
	b []byte
	i int
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// open reads the '{' that starts an object.
func (s *scanner) open() bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '{' {
		s.i++
		return true
	}
	return false
}

// next reads up to the next member's value and returns its key; more is
// false at the object's '}'. first says no member was read yet. Keys with
// escapes are refused: no event field has one.
func (s *scanner) next(first bool) (key []byte, more, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, false, false
	}
	if s.b[s.i] == '}' {
		s.i++
		return nil, false, true
	}
	if !first {
		if s.b[s.i] != ',' {
			return nil, false, false
		}
		s.i++
		s.ws()
	}
	start, end, ok := s.plainString()
	if !ok {
		return nil, false, false
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, false, false
	}
	s.i++
	s.ws()
	return s.b[start:end], true, true
}

// end reports whether only whitespace follows the object.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads an object, calling member with each key once the scanner
// is at its value; member reads the value and reports whether it takes
// it. member does not escape, so a closure passed costs no allocation.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.open() {
		return false
	}
	for first := true; ; first = false {
		k, more, ok := s.next(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if !member(k) {
			return false
		}
	}
}

// plainString reads a string of valid UTF-8 without escapes or control
// characters and returns where its contents lie in b.
func (s *scanner) plainString() (start, end int, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, false
	}
	start = s.i + 1
	ascii := true
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start:j]) {
				return 0, 0, false
			}
			s.i = j + 1
			return start, j, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false
}

// str reads a string value. Of the escapes it decodes the one-letter ones;
// a \u escape, whose lone surrogates encoding/json turns into U+FFFD, is
// left to encoding/json, as is invalid UTF-8, which it replaces.
func (s *scanner) str() (string, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	j := start
	ascii := true
	for ; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if j < len(s.b) && s.b[j] == '"' {
		if !ascii && !utf8.Valid(s.b[start:j]) {
			return "", false
		}
		s.i = j + 1
		return string(s.b[start:j]), true
	}
	// Escapes: decode into a copy.
	out := make([]byte, 0, len(s.b)-start)
	out = append(out, s.b[start:j]...)
	for ; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", false
			}
			s.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			continue
		}
		if j++; j >= len(s.b) {
			return "", false
		}
		switch s.b[j] {
		case '"', '\\', '/':
			out = append(out, s.b[j])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			return "", false
		}
	}
	return "", false
}

// word reads a string value that is usually one of words, which it then
// returns without allocating a copy.
func (s *scanner) word(words []string) (string, bool) {
	at := s.i
	if start, end, ok := s.plainString(); ok {
		for _, w := range words {
			if string(s.b[start:end]) == w {
				return w, true
			}
		}
		s.i = at
	}
	return s.str()
}

// The values of the role and stop-reason fields.
var (
	roleWords       = []string{RoleAssistant, RoleUser}
	stopReasonWords = []string{StopEndTurn, StopToolUse, StopMaxTokens, StopStopSequence, StopGuardrailIntervened,
		StopContentFiltered, StopMalformedModelOutput, StopMalformedToolUse, StopModelContextWindowExceeded}
)

// skipPlainString reads a string value it has no use for (Bedrock's "p"
// padding) under plainString's rules.
func (s *scanner) skipPlainString() bool {
	_, _, ok := s.plainString()
	return ok
}

// maxFastDigits keeps an integer below 10^18, clear of int64's bounds; a
// longer one is left to encoding/json.
const maxFastDigits = 18

// int reads an integer literal as encoding/json accepts for an integer
// field: no fraction, no exponent, no leading zero.
func (s *scanner) int() (int64, bool) {
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > maxFastDigits || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// wordField stores a string value that is usually one of words.
func (s *scanner) wordField(dst *string, words []string) bool {
	var ok bool
	*dst, ok = s.word(words)
	return ok
}

// metricsField stores {"latencyMs": n} into a new Metrics.
func (s *scanner) metricsField(dst **Metrics) bool {
	*dst = &Metrics{}
	return s.metrics(*dst)
}

// intField stores an integer value into an int field, if it fits one.
func (s *scanner) intField(dst *int) bool {
	n, ok := s.int()
	*dst = int(n)
	return ok && int64(*dst) == n
}

// seen marks a key as read and reports whether it was read before:
// encoding/json merges a repeated key into what the first one set, which
// the fast paths leave to it.
func seen(mask *uint, bit uint) bool {
	if *mask&bit != 0 {
		return true
	}
	*mask |= bit
	return false
}

// fastDelta decodes a text or tool-input delta. A text is stored in *text,
// which dst's text then points at, so that the caller can allocate both at
// once.
func fastDelta(payload []byte, dst *ContentBlockDeltaEvent, text *string) bool {
	s := scanner{b: payload}
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "p":
			return !seen(&keys, 1) && s.skipPlainString()
		case "contentBlockIndex":
			return !seen(&keys, 2) && s.intField(&dst.ContentBlockIndex)
		case "delta":
			return !seen(&keys, 4) && s.deltaUnion(&dst.Delta, text)
		}
		return false
	}) && s.end()
}

// deltaUnion decodes a delta holding text or tool input only.
func (s *scanner) deltaUnion(dst *ContentBlockDelta, text *string) bool {
	return s.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "text":
			if dst.Text != nil {
				return false
			}
			if *text, ok = s.str(); !ok {
				return false
			}
			dst.Text = text
			return true
		case "toolUse":
			if dst.ToolUse != nil {
				return false
			}
			dst.ToolUse = &ToolUseBlockDelta{}
			return s.toolUseDelta(dst.ToolUse)
		}
		return false
	}) && (dst.Text != nil) != (dst.ToolUse != nil)
}

// toolUseDelta decodes {"input": "..."}.
func (s *scanner) toolUseDelta(dst *ToolUseBlockDelta) bool {
	var keys uint
	return s.object(func(k []byte) bool {
		if string(k) != "input" || seen(&keys, 1) {
			return false
		}
		var ok bool
		dst.Input, ok = s.str()
		return ok
	})
}

// fastStringEvent decodes an event of one string field named key, with
// padding; the field's value is usually one of words.
func fastStringEvent(payload []byte, key string, words []string, dst *string) bool {
	s := scanner{b: payload}
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "p":
			return !seen(&keys, 1) && s.skipPlainString()
		case key:
			return !seen(&keys, 2) && s.wordField(dst, words)
		}
		return false
	}) && s.end()
}

func fastMessageStart(payload []byte, dst *MessageStartEvent) bool {
	return fastStringEvent(payload, "role", roleWords, &dst.Role)
}

// fastMessageStop decodes a stop without additional model fields.
func fastMessageStop(payload []byte, dst *MessageStopEvent) bool {
	return fastStringEvent(payload, "stopReason", stopReasonWords, &dst.StopReason)
}

func fastContentBlockStop(payload []byte, dst *ContentBlockStopEvent) bool {
	s := scanner{b: payload}
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "p":
			return !seen(&keys, 1) && s.skipPlainString()
		case "contentBlockIndex":
			return !seen(&keys, 2) && s.intField(&dst.ContentBlockIndex)
		}
		return false
	}) && s.end()
}

// fastMetadata decodes usage and metrics; usage with a cache breakdown
// takes the slow path.
func fastMetadata(payload []byte, dst *MetadataEvent) bool {
	s := scanner{b: payload}
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "p":
			return !seen(&keys, 1) && s.skipPlainString()
		case "usage":
			return !seen(&keys, 2) && s.usage(&dst.Usage)
		case "metrics":
			return !seen(&keys, 4) && s.metricsField(&dst.Metrics)
		}
		return false
	}) && s.end()
}

// usage decodes a token count without a cache breakdown.
func (s *scanner) usage(u *TokenUsage) bool {
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "inputTokens":
			return !seen(&keys, 1) && s.intField(&u.InputTokens)
		case "outputTokens":
			return !seen(&keys, 2) && s.intField(&u.OutputTokens)
		case "totalTokens":
			return !seen(&keys, 4) && s.intField(&u.TotalTokens)
		case "cacheReadInputTokens":
			return !seen(&keys, 8) && s.intField(&u.CacheReadInputTokens)
		case "cacheWriteInputTokens":
			return !seen(&keys, 16) && s.intField(&u.CacheWriteInputTokens)
		}
		return false
	})
}

// metrics decodes {"latencyMs": n}.
func (s *scanner) metrics(m *Metrics) bool {
	var keys uint
	return s.object(func(k []byte) bool {
		if string(k) != "latencyMs" || seen(&keys, 1) {
			return false
		}
		var ok bool
		m.LatencyMs, ok = s.int()
		return ok
	})
}

// resetEvent zeroes an event a fast path may have half filled.
func resetEvent(dst any) {
	switch e := dst.(type) {
	case *ContentBlockDeltaEvent:
		*e = ContentBlockDeltaEvent{}
	case *MessageStartEvent:
		*e = MessageStartEvent{}
	case *ContentBlockStopEvent:
		*e = ContentBlockStopEvent{}
	case *MessageStopEvent:
		*e = MessageStopEvent{}
	case *MetadataEvent:
		*e = MetadataEvent{}
	}
}
