package convert

import "strings"

// Adjustment is one change ChatRequestToConverse made to a request field
// that Claude would refuse as sent, where a close value serves the client
// as well: OpenAI accepts these requests, and programs written against it
// send them (temperature and top_p together, temperature up to 2). The
// gateway reports every adjustment to the client and in its log; with
// Options.StrictParams it refuses such requests instead.
type Adjustment struct {
	// Param is the OpenAI field in OpenAI's form: "temperature", "top_p".
	Param string `json:"param"`
	// Action is what became of it: "dropped", "clamped to 1",
	// "raised to 0.95".
	Action string `json:"action"`
	// Reason is the rule of Claude's that required it, in a few words.
	Reason string `json:"reason"`
}

// String renders the adjustment as "<param> <action> (<reason>)", such as
// "top_p dropped (claude-sonnet-4-5 takes temperature or top_p, not both)".
func (a Adjustment) String() string {
	return a.Param + " " + a.Action + " (" + a.Reason + ")"
}

// AdjustmentSeparator separates adjustments in FormatAdjustments. No
// adjustment's text contains it, so a client can split the header on it.
const AdjustmentSeparator = "; "

// FormatAdjustments renders adjustments in order as one header value:
// each one's String, separated by AdjustmentSeparator; "" for none. The
// text is ASCII, as header values must be.
func FormatAdjustments(adj []Adjustment) string {
	if len(adj) == 0 {
		return ""
	}
	var b strings.Builder
	for i, a := range adj {
		if i > 0 {
			b.WriteString(AdjustmentSeparator)
		}
		b.WriteString(a.String())
	}
	return b.String()
}
