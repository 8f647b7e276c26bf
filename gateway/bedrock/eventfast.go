package bedrock

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The events of a stream in their usual shapes are decoded with gjson
// rather than encoding/json's reflection, which costs several
// microseconds an event (a tenth of a short stream's CPU). Each fast path
// accepts only JSON it can vouch for — known keys with values of the
// expected JSON type — and reports false otherwise; encoding/json then
// decodes the event as before. FuzzFastEvents holds every fast path to
// encoding/json's result.

// fastObject calls field for each member of payload's top-level object,
// skipping Bedrock's "p" padding, until field reports false. It reports
// whether payload is a valid object and every member was accepted.
func fastObject(payload []byte, field func(key string, v gjson.Result) bool) bool {
	// encoding/json replaces invalid UTF-8 with U+FFFD; gjson keeps it.
	if !gjson.ValidBytes(payload) || !utf8.Valid(payload) {
		return false
	}
	root := gjson.ParseBytes(payload)
	return members(root, func(k string, v gjson.Result) bool { return k == "p" || field(k, v) })
}

// members calls field for each member of the object v; false if v is not
// an object or field refused a member.
func members(v gjson.Result, field func(key string, v gjson.Result) bool) bool {
	if !v.IsObject() {
		return false
	}
	ok := true
	v.ForEach(func(k, v gjson.Result) bool {
		ok = field(k.Str, v)
		return ok
	})
	return ok
}

// fastInt stores an integer literal that fits an int, as encoding/json
// accepts for an int field (no fraction, no exponent).
func fastInt(v gjson.Result, dst *int) bool {
	if v.Type != gjson.Number {
		return false
	}
	n, err := strconv.ParseInt(v.Raw, 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*dst = int(n)
	return true
}

// fastString stores a JSON string. One with \u escapes is decoded by
// encoding/json, which turns lone surrogates into U+FFFD where gjson does
// not.
func fastString(v gjson.Result, dst *string) bool {
	if v.Type != gjson.String {
		return false
	}
	if strings.Contains(v.Raw, `\u`) {
		return json.Unmarshal([]byte(v.Raw), dst) == nil
	}
	*dst = v.Str
	return true
}

// fastDelta decodes a text or tool-input delta.
func fastDelta(payload []byte, dst *ContentBlockDeltaEvent) bool {
	return fastObject(payload, func(k string, v gjson.Result) bool {
		switch k {
		case "contentBlockIndex":
			return fastInt(v, &dst.ContentBlockIndex)
		case "delta":
			return fastDeltaUnion(v, &dst.Delta)
		}
		return false
	})
}

// fastDeltaUnion decodes a delta holding text or tool input only.
func fastDeltaUnion(v gjson.Result, dst *ContentBlockDelta) bool {
	ok := members(v, func(k string, v gjson.Result) bool {
		switch k {
		case "text":
			var s string
			if !fastString(v, &s) {
				return false
			}
			dst.Text = &s
			return true
		case "toolUse":
			if dst.ToolUse == nil {
				dst.ToolUse = &ToolUseBlockDelta{}
			}
			return members(v, func(k string, v gjson.Result) bool {
				return k == "input" && fastString(v, &dst.ToolUse.Input)
			})
		}
		return false
	})
	return ok && (dst.Text != nil) != (dst.ToolUse != nil)
}

func fastMessageStart(payload []byte, dst *MessageStartEvent) bool {
	return fastObject(payload, func(k string, v gjson.Result) bool {
		return k == "role" && fastString(v, &dst.Role)
	})
}

func fastContentBlockStop(payload []byte, dst *ContentBlockStopEvent) bool {
	return fastObject(payload, func(k string, v gjson.Result) bool {
		return k == "contentBlockIndex" && fastInt(v, &dst.ContentBlockIndex)
	})
}

// fastMessageStop decodes a stop without additional model fields.
func fastMessageStop(payload []byte, dst *MessageStopEvent) bool {
	return fastObject(payload, func(k string, v gjson.Result) bool {
		return k == "stopReason" && fastString(v, &dst.StopReason)
	})
}

// fastMetadata decodes usage and metrics; usage with a cache breakdown
// takes the slow path.
func fastMetadata(payload []byte, dst *MetadataEvent) bool {
	return fastObject(payload, func(k string, v gjson.Result) bool {
		switch k {
		case "usage":
			u := &dst.Usage
			return members(v, func(k string, v gjson.Result) bool {
				switch k {
				case "inputTokens":
					return fastInt(v, &u.InputTokens)
				case "outputTokens":
					return fastInt(v, &u.OutputTokens)
				case "totalTokens":
					return fastInt(v, &u.TotalTokens)
				case "cacheReadInputTokens":
					return fastInt(v, &u.CacheReadInputTokens)
				case "cacheWriteInputTokens":
					return fastInt(v, &u.CacheWriteInputTokens)
				}
				return false
			})
		case "metrics":
			if dst.Metrics == nil {
				dst.Metrics = &Metrics{}
			}
			return members(v, func(k string, v gjson.Result) bool {
				if k != "latencyMs" || v.Type != gjson.Number {
					return false
				}
				n, err := strconv.ParseInt(v.Raw, 10, 64)
				dst.Metrics.LatencyMs = n
				return err == nil
			})
		}
		return false
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
