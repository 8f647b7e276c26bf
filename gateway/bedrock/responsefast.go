package bedrock

// A Converse response in its usual shape — a text answer with its stop
// reason, usage and metrics — is decoded by the event scanner too: the
// reflection decoder spends most of its time there building the content
// slice. Under the same rules as the events' fast paths, anything else
// (tool calls, reasoning, a cache breakdown, additional fields, a key in
// another case) is left to the full decoder. FuzzFastConverseResponse
// holds the fast path to encoding/json's result.

// fastConverseResponse decodes body into dst, which must be zero, and
// reports whether it could; on false dst may be half filled.
func fastConverseResponse(body []byte, dst *ConverseResponse) bool {
	s := scanner{b: body}
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "output":
			return !seen(&keys, 1) && s.output(&dst.Output)
		case "stopReason":
			return !seen(&keys, 2) && s.wordField(&dst.StopReason, stopReasonWords)
		case "usage":
			return !seen(&keys, 4) && s.usage(&dst.Usage)
		case "metrics":
			return !seen(&keys, 8) && s.metricsField(&dst.Metrics)
		}
		return false
	}) && s.end()
}

// output decodes {"message": {...}}.
func (s *scanner) output(dst *ConverseOutput) bool {
	return s.object(func(k []byte) bool {
		if string(k) != "message" || dst.Message != nil {
			return false
		}
		dst.Message = &Message{}
		return s.message(dst.Message)
	})
}

// message decodes a role and text blocks.
func (s *scanner) message(dst *Message) bool {
	var keys uint
	return s.object(func(k []byte) bool {
		switch string(k) {
		case "role":
			return !seen(&keys, 1) && s.wordField(&dst.Role, roleWords)
		case "content":
			return !seen(&keys, 2) && s.textBlocks(&dst.Content)
		}
		return false
	})
}

// textBlocks decodes an array of {"text": "..."} blocks; an empty array
// is an empty slice, as encoding/json makes it.
func (s *scanner) textBlocks(dst *[]ContentBlock) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return false
	}
	s.i++
	blocks := make([]ContentBlock, 0, 1)
	for first := true; ; first = false {
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		if s.b[s.i] == ']' {
			s.i++
			*dst = blocks
			return true
		}
		if !first {
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
		}
		blocks = append(blocks, ContentBlock{})
		b := &blocks[len(blocks)-1]
		if !s.object(func(k []byte) bool {
			if string(k) != "text" || b.Text != nil {
				return false
			}
			text, ok := s.str()
			b.Text = &text
			return ok
		}) || b.Text == nil {
			return false
		}
	}
}
