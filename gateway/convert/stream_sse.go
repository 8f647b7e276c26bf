package convert

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// AppendSSE appends chunk as one server-sent event, "data: <json>\n\n", to
// dst and returns the extended buffer. Usage is written only when set; a
// Stream's AppendSSE also writes the "usage": null OpenAI sends when the
// client asked for usage.
//
// The JSON is written by hand rather than with encoding/json: this runs for
// every streamed token, and the hand-written encoder is several times
// faster and allocates nothing (see BenchmarkAppendSSE). It escapes strings
// as encoding/json does, except that it leaves <, > and & alone.
func AppendSSE(dst []byte, chunk *openai.ChatChunk) []byte {
	return appendSSE(dst, chunk, false)
}

// AppendSSE is the package AppendSSE for chunks of s: when the client set
// stream_options.include_usage, chunks without usage carry "usage": null,
// as OpenAI sends them.
func (s *Stream) AppendSSE(dst []byte, chunk *openai.ChatChunk) []byte {
	return appendSSE(dst, chunk, s.meta.IncludeUsage)
}

// AppendDone appends the event that ends every OpenAI stream.
func AppendDone(dst []byte) []byte {
	return append(dst, "data: [DONE]\n\n"...)
}

func appendSSE(dst []byte, c *openai.ChatChunk, nullUsage bool) []byte {
	dst = append(dst, "data: "...)
	dst = appendChunkJSON(dst, c, nullUsage)
	return append(dst, "\n\n"...)
}

// appendChunkJSON writes c with the members, order and omissions
// encoding/json gives openai.ChatChunk, plus "usage": null when nullUsage is
// set and c has no usage. Nil choices are written as [], never null:
// clients index into the list without checking.
func appendChunkJSON(dst []byte, c *openai.ChatChunk, nullUsage bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, c.ID)
	dst = append(dst, `,"object":`...)
	dst = appendJSONString(dst, c.Object)
	dst = append(dst, `,"created":`...)
	dst = strconv.AppendInt(dst, c.Created, 10)
	dst = append(dst, `,"model":`...)
	dst = appendJSONString(dst, c.Model)
	dst = append(dst, `,"system_fingerprint":`...)
	dst = appendJSONStringPtr(dst, c.SystemFingerprint)
	dst = append(dst, `,"choices":[`...)
	for i := range c.Choices {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendChunkChoiceJSON(dst, &c.Choices[i])
	}
	dst = append(dst, ']')
	switch {
	case c.Usage != nil:
		dst = append(dst, `,"usage":`...)
		dst = appendUsageJSON(dst, c.Usage)
	case nullUsage:
		dst = append(dst, `,"usage":null`...)
	}
	return append(dst, '}')
}

func appendChunkChoiceJSON(dst []byte, ch *openai.ChunkChoice) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, int64(ch.Index), 10)
	dst = append(dst, `,"delta":{`...)
	d := &ch.Delta
	open := len(dst)
	if d.Role != "" {
		dst = appendMember(dst, open, `"role":`)
		dst = appendJSONString(dst, d.Role)
	}
	if d.Content != nil {
		dst = appendMember(dst, open, `"content":`)
		dst = appendJSONString(dst, *d.Content)
	}
	if d.ReasoningContent != nil {
		dst = appendMember(dst, open, `"reasoning_content":`)
		dst = appendJSONString(dst, *d.ReasoningContent)
	}
	if len(d.ToolCalls) > 0 {
		dst = appendMember(dst, open, `"tool_calls":[`)
		for i := range d.ToolCalls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendToolCallJSON(dst, &d.ToolCalls[i])
		}
		dst = append(dst, ']')
	}
	if d.Refusal != nil {
		dst = appendMember(dst, open, `"refusal":`)
		dst = appendJSONString(dst, *d.Refusal)
	}
	dst = append(dst, `},"logprobs":`...)
	dst = appendRawJSON(dst, ch.Logprobs)
	dst = append(dst, `,"finish_reason":`...)
	dst = appendJSONStringPtr(dst, ch.FinishReason)
	return append(dst, '}')
}

// appendMember writes a member name, after a comma unless it is the first
// member of the object opened at offset open.
func appendMember(dst []byte, open int, name string) []byte {
	if len(dst) > open {
		dst = append(dst, ',')
	}
	return append(dst, name...)
}

func appendToolCallJSON(dst []byte, tc *openai.ToolCall) []byte {
	dst = append(dst, '{')
	if tc.Index != nil {
		dst = append(dst, `"index":`...)
		dst = strconv.AppendInt(dst, int64(*tc.Index), 10)
		dst = append(dst, ',')
	}
	if tc.ID != "" {
		dst = append(dst, `"id":`...)
		dst = appendJSONString(dst, tc.ID)
		dst = append(dst, ',')
	}
	if tc.Type != "" {
		dst = append(dst, `"type":`...)
		dst = appendJSONString(dst, tc.Type)
		dst = append(dst, ',')
	}
	dst = append(dst, `"function":{`...)
	if tc.Function.Name != "" {
		dst = append(dst, `"name":`...)
		dst = appendJSONString(dst, tc.Function.Name)
		dst = append(dst, ',')
	}
	dst = append(dst, `"arguments":`...)
	dst = appendJSONString(dst, tc.Function.Arguments)
	return append(dst, "}}"...)
}

func appendUsageJSON(dst []byte, u *openai.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.PromptTokens), 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CompletionTokens), 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.TotalTokens), 10)
	if p := u.PromptTokensDetails; p != nil {
		dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
		dst = strconv.AppendInt(dst, int64(p.CachedTokens), 10)
		if p.CacheWriteTokens != 0 {
			dst = append(dst, `,"cache_write_tokens":`...)
			dst = strconv.AppendInt(dst, int64(p.CacheWriteTokens), 10)
		}
		dst = append(dst, '}')
	}
	if c := u.CompletionTokensDetails; c != nil {
		dst = append(dst, `,"completion_tokens_details":{"reasoning_tokens":`...)
		dst = strconv.AppendInt(dst, int64(c.ReasoningTokens), 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendRawJSON writes raw, or null for nothing; invalid JSON is written as
// null rather than corrupting the event.
func appendRawJSON(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 || !json.Valid(raw) {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

func appendJSONStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, *s)
}

// appendJSONString writes s as a JSON string the way encoding/json does:
// control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028
// and U+2029 escaped because JavaScript clients choke on them raw. Unlike
// encoding/json it does not escape <, > and &; SSE is not HTML.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// jsonSafe tells the ASCII bytes that go into a JSON string as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()
