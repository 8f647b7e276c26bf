package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
)

// The README's "OpenAI parameters" table says what becomes of every request
// field of POST /v1/chat/completions. TestREADME_OpenAIParameters keeps it
// true: for each row and each of its outcomes it sends a request with the
// field through the server (Bedrock faked) and checks the outcome, and it
// checks the table lists every field the official SDK sends.
//
// Outcomes, as the README defines them:
//   - mapped: served, unadjusted, and what reaches Bedrock or the answer
//     differs from the same request without the field;
//   - adjusted: served, and x-convertor-adjusted names the field;
//   - ignored: served, unadjusted, and nothing differs from the request
//     without the field;
//   - refused: 400 whose param names the field.

// paramBase is the request every sample adds its field to.
const paramBase = `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}`

// paramTools declares one function, for the fields that need tools.
const paramTools = `{"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`

// paramLongSystem has a system prompt long enough (about 1,500 tokens)
// for the gateway to place cache points, so their TTL shows.
var paramLongSystem = userThen(`{"role":"system","content":"` + strings.Repeat("Answer in one sentence. ", 250) + `"}`)

// pngDataURL is a 1×1 PNG.
const pngDataURL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="

// paramSample is a request showing one outcome of a field: base (extra
// fields of the request without it, on top of paramBase) and with (the
// fields that make the request with it, on top of base).
type paramSample struct {
	base, with string
	// stored is a response the server holds before the request, for
	// previous_response_id.
	stored *StoredResponse
}

// userThen returns messages: the given ones, then a user "Hi".
func userThen(msgs ...string) string {
	return `{"messages":[` + strings.Join(append(msgs, `{"role":"user","content":"Hi"}`), ",") + `]}`
}

// paramSamples holds, per table key and outcome, the request that shows it.
var paramSamples = map[string]map[string]paramSample{
	"model":                {"mapped": {with: `{"model":"claude-haiku-4-5"}`}},
	"messages[] system":    {"mapped": {with: userThen(`{"role":"system","content":"Be brief."}`)}},
	"messages[] developer": {"mapped": {with: userThen(`{"role":"developer","content":"Be brief."}`)}},
	"messages[] user":      {"mapped": {with: `{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Again"}]}`}},
	"messages[] assistant": {"mapped": {with: userThen(`{"role":"assistant","content":"Welcome!"}`)}},
	"messages[] tool": {"mapped": {base: paramTools, with: `{"messages":[{"role":"user","content":"Weather?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`}},
	"messages[] function":     {"refused": {with: userThen(`{"role":"function","name":"f","content":"x"}`)}},
	"messages[].name":         {"ignored": {with: `{"messages":[{"role":"user","name":"alice","content":"Hi"}]}`}},
	"messages[].content text": {"mapped": {with: `{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"there"}]}]}`}},
	"messages[].content image_url": {
		"mapped":  {with: `{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"` + pngDataURL + `"}}]}]}`},
		"refused": {with: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`},
	},
	"messages[].content input_audio": {"refused": {with: `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`}},
	"messages[].content file":        {"refused": {with: `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`}},
	"messages[].content refusal": {"mapped": {
		base: userThen(`{"role":"user","content":"Do it."}`, `{"role":"assistant","content":"No."}`),
		with: userThen(`{"role":"user","content":"Do it."}`, `{"role":"assistant","content":[{"type":"text","text":"No."},{"type":"refusal","refusal":"I cannot."}]}`),
	}},
	"messages[].tool_calls": {"mapped": {base: paramTools + `|` + userThen(`{"role":"user","content":"Weather?"}`, `{"role":"assistant","content":"Let me see."}`),
		with: userThen(`{"role":"user","content":"Weather?"}`, `{"role":"assistant","content":"Let me see.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`, `{"role":"tool","tool_call_id":"call_1","content":"sunny"}`)}},
	"messages[].reasoning_content": {"ignored": {
		base: userThen(`{"role":"user","content":"Q"}`, `{"role":"assistant","content":"A"}`),
		with: userThen(`{"role":"user","content":"Q"}`, `{"role":"assistant","content":"A","reasoning_content":"I thought."}`),
	}},
	"max_completion_tokens": {"mapped": {with: `{"max_completion_tokens":100}`}},
	"max_tokens":            {"mapped": {with: `{"max_tokens":100}`}},
	"temperature": {
		"mapped":   {with: `{"temperature":0.3}`},
		"adjusted": {with: `{"temperature":1.7}`},
	},
	"top_p": {
		"mapped":   {with: `{"top_p":0.5}`},
		"adjusted": {base: `{"temperature":0.3}`, with: `{"top_p":0.5}`},
	},
	"stop":                               {"mapped": {with: `{"stop":"END"}`}},
	"stream":                             {"mapped": {with: `{"stream":true}`}},
	"stream_options":                     {"mapped": {base: `{"stream":true}`, with: `{"stream_options":{"include_usage":true}}`}},
	"stream_options.include_obfuscation": {"ignored": {base: `{"stream":true}`, with: `{"stream_options":{"include_obfuscation":false}}`}},
	"tools": {
		"mapped":  {with: paramTools},
		"refused": {with: `{"tools":[{"type":"custom","custom":{"name":"grammar"}}]}`},
	},
	"tool_choice": {
		"mapped":  {base: paramTools, with: `{"tool_choice":"required"}`},
		"refused": {base: paramTools, with: `{"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}}`},
	},
	"parallel_tool_calls": {
		"mapped":  {base: paramTools, with: `{"parallel_tool_calls":false}`},
		"refused": {base: paramTools, with: `{"model":"claude-3-5-haiku","parallel_tool_calls":false}`},
	},
	"response_format":   {"mapped": {with: `{"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`}},
	"reasoning_effort":  {"mapped": {with: `{"reasoning_effort":"low"}`}},
	"thinking":          {"mapped": {with: `{"thinking":{"type":"enabled","budget_tokens":2048}}`}},
	"user":              {"mapped": {with: `{"user":"alice"}`}},
	"safety_identifier": {"mapped": {with: `{"safety_identifier":"u-42"}`}},
	"n": {
		"ignored": {with: `{"n":1}`},
		"refused": {with: `{"n":2}`},
	},
	"logprobs": {
		"ignored": {with: `{"logprobs":false}`},
		"refused": {with: `{"logprobs":true}`},
	},
	"top_logprobs": {
		"ignored": {with: `{"top_logprobs":0}`},
		"refused": {with: `{"top_logprobs":3}`},
	},
	"presence_penalty": {
		"ignored": {with: `{"presence_penalty":0}`},
		"refused": {with: `{"presence_penalty":0.5}`},
	},
	"frequency_penalty": {
		"ignored": {with: `{"frequency_penalty":0}`},
		"refused": {with: `{"frequency_penalty":0.5}`},
	},
	"logit_bias": {
		"ignored": {with: `{"logit_bias":{}}`},
		"refused": {with: `{"logit_bias":{"50256":-100}}`},
	},
	"seed":         {"ignored": {with: `{"seed":7}`}},
	"service_tier": {"ignored": {with: `{"service_tier":"auto"}`}},
	"store":        {"ignored": {with: `{"store":true}`}},
	"metadata":     {"ignored": {with: `{"metadata":{"team":"a"}}`}},
	"modalities": {
		"ignored": {with: `{"modalities":["text"]}`},
		"refused": {with: `{"modalities":["text","audio"]}`},
	},
	"audio":            {"refused": {with: `{"audio":{"voice":"alloy","format":"mp3"}}`}},
	"prediction":       {"ignored": {with: `{"prediction":{"type":"content","content":"Hello"}}`}},
	"prompt_cache_key": {"ignored": {with: `{"prompt_cache_key":"tenant-7"}`}},
	"prompt_cache_ttl": {
		"mapped":  {base: paramLongSystem, with: `{"prompt_cache_ttl":"1h"}`},
		"refused": {with: `{"prompt_cache_ttl":"2h"}`},
	},
	"context_1m": {
		"mapped":  {with: `{"context_1m":true}`},
		"refused": {base: `{"model":"claude-haiku-4-5"}`, with: `{"context_1m":true}`},
	},
	"messages[].content cache_control": {
		"mapped":  {with: `{"messages":[{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]}]}`},
		"refused": {with: `{"messages":[{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral","ttl":"2h"}}]}]}`},
	},
	"prompt_cache_retention": {"ignored": {with: `{"prompt_cache_retention":"24h"}`}},
	"prompt_cache_options":   {"ignored": {with: `{"prompt_cache_options":{"mode":"explicit","ttl":"1h"}}`}},
	"verbosity": {
		"ignored":  {with: `{"verbosity":"medium"}`},
		"adjusted": {with: `{"verbosity":"low"}`},
	},
	"web_search_options": {"refused": {with: `{"web_search_options":{"search_context_size":"low"}}`}},
	"moderation":         {"refused": {with: `{"moderation":{"input":true}}`}},
	"functions":          {"refused": {with: `{"functions":[{"name":"f","parameters":{"type":"object"}}]}`}},
	"function_call":      {"refused": {with: `{"function_call":"auto"}`}},
}

// outcomes are the words of the table's outcome column.
var outcomes = []string{"mapped", "adjusted", "ignored", "refused"}

// paramRow is one row of the table: its field key (the first code span of
// the first cell) and its outcomes.
type paramRow struct {
	key      string
	outcomes []string
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// paramAPI is an endpoint whose README table of parameters is checked:
// the table's heading, the path requests go to, and the request every
// sample adds its field to.
type paramAPI struct {
	section, path, base string
}

// chatParams is the chat completions table.
var chatParams = paramAPI{section: "## OpenAI parameters", path: "/v1/chat/completions", base: paramBase}

// readParamTable reads the table under the section's heading in README.md.
func readParamTable(t *testing.T, section string) []paramRow {
	t.Helper()
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []paramRow
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == section:
			in = true
			continue
		case in && strings.HasPrefix(line, "## "):
			return rows
		case !in || !strings.HasPrefix(line, "| `"):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		m := codeSpan.FindStringSubmatch(cells[0])
		if len(cells) != 3 || m == nil {
			t.Fatalf("README OpenAI parameters: malformed row %q", line)
		}
		row := paramRow{key: m[1]}
		for _, o := range strings.Split(strings.TrimSpace(cells[1]), ", ") {
			if !slices.Contains(outcomes, o) {
				t.Fatalf("README OpenAI parameters: row %q has outcome %q, want one of %v", row.key, o, outcomes)
			}
			row.outcomes = append(row.outcomes, o)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !in {
		t.Fatalf("README.md has no %q section", section)
	}
	return rows
}

// TestREADME_OpenAIParameters checks the README's table: complete, with a
// request for each of its claims, and each claim true.
func TestREADME_OpenAIParameters(t *testing.T) {
	t.Parallel()
	checkParamTable(t, chatParams, paramSamples, openAIRequestFields())
}

// checkParamTable checks one README table against its samples and the
// fields the API has.
func checkParamTable(t *testing.T, api paramAPI, paramSamples map[string]map[string]paramSample, fields []string) {
	rows := readParamTable(t, api.section)
	keys := map[string]bool{}
	for _, r := range rows {
		if keys[r.key] {
			t.Errorf("README OpenAI parameters: %q listed twice", r.key)
		}
		keys[r.key] = true
	}
	for _, want := range fields {
		if !keys[want] {
			t.Errorf("README OpenAI parameters: no row for %q, a field of the OpenAI API", want)
		}
	}
	for key, samples := range paramSamples {
		i := slices.IndexFunc(rows, func(r paramRow) bool { return r.key == key })
		for o := range samples {
			if i < 0 || !slices.Contains(rows[i].outcomes, o) {
				t.Errorf("a %s sample for %q, which the README does not say is %s", o, key, o)
			}
		}
	}
	for _, r := range rows {
		for _, o := range r.outcomes {
			sample, ok := paramSamples[r.key][o]
			if !ok {
				t.Errorf("README OpenAI parameters: %q is %s, and the test has no request showing it", r.key, o)
				continue
			}
			t.Run(r.key+"/"+o, func(t *testing.T) {
				t.Parallel()
				checkParamOutcome(t, api, r.key, o, sample)
			})
		}
	}
}

// openAIRequestFields are the fields the README must list: every request
// field of the official SDK's ChatCompletionNewParams, stream (which the
// SDK sets itself), the extra-body thinking, and each role and content
// part type of a message, as the API reference lists them.
func openAIRequestFields() []string {
	fields := []string{"stream", "thinking", "stream_options.include_obfuscation"}
	typ := reflect.TypeFor[oai.ChatCompletionNewParams]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		// messages is listed by role and content part, below.
		if name != "" && name != "-" && name != "messages" {
			fields = append(fields, name)
		}
	}
	for _, role := range []string{"system", "developer", "user", "assistant", "tool", "function"} {
		fields = append(fields, "messages[] "+role)
	}
	for _, part := range []string{"text", "image_url", "input_audio", "file", "refusal"} {
		fields = append(fields, "messages[].content "+part)
	}
	return fields
}

// checkParamOutcome sends the sample's request, and the same without the
// field, and checks the outcome.
func checkParamOutcome(t *testing.T, api paramAPI, key, outcome string, s paramSample) {
	with := mergeJSON(t, mergeJSON(t, api.base, s.base), s.with)
	without := mergeJSON(t, api.base, s.base)
	field := strings.Fields(key)[0]
	got := sendParamRequest(t, api.path, with, s.stored)
	adjusted := got.resp.header.Get(headerAdjusted)
	if outcome == "refused" {
		if got.resp.status != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400; body %s", got.resp.status, got.resp.body)
		}
		e := openAIError(t, got.resp)
		if param := indexes.ReplaceAllString(deref(e.Param), "[]"); !strings.HasPrefix(param, field) || e.Type != "invalid_request_error" {
			t.Errorf("error = %+v, want invalid_request_error with a param in %s", e, field)
		}
		return
	}
	if got.resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", got.resp.status, got.resp.body)
	}
	if outcome == "adjusted" {
		named := slices.ContainsFunc(strings.Split(adjusted, "; "), func(a string) bool { return strings.HasPrefix(a, field+" ") })
		if !named {
			t.Errorf("%s = %q, want an adjustment of %s", headerAdjusted, adjusted, field)
		}
		return
	}
	if adjusted != "" {
		t.Errorf("%s = %q on a %s field", headerAdjusted, adjusted, outcome)
	}
	base := sendParamRequest(t, api.path, without, s.stored)
	if base.resp.status != http.StatusOK {
		t.Fatalf("request without the field: status = %d; body %s", base.resp.status, base.resp.body)
	}
	switch differs := got.observed != base.observed; {
	case outcome == "mapped" && !differs:
		t.Errorf("the field changed nothing Bedrock or the client sees:\n%s", got.observed)
	case outcome == "ignored" && differs:
		t.Errorf("the field changed what Bedrock or the client sees:\nwithout:\n%s\nwith:\n%s", base.observed, got.observed)
	}
}

// indexes are the element indexes of a param ("messages[2]").
var indexes = regexp.MustCompile(`\[\d+\]`)

// paramResult is a response and what a request observably caused: the
// Bedrock call and the answer, without the ids and times every answer has.
type paramResult struct {
	resp     *response
	observed string
}

var volatile = regexp.MustCompile(`"(id|item_id|created|created_at)":("[^"]*"|\d+)`)

// sendParamRequest posts body to path on a fresh server holding the
// stored response, if any.
func sendParamRequest(t *testing.T, path, body string, stored *StoredResponse) paramResult {
	t.Helper()
	fake := &fakeConverser{}
	ts := newTestServer(t, fake, nil)
	if stored != nil {
		if err := ts.responses.Put(context.Background(), MasterKeyID, stored); err != nil {
			t.Fatal(err)
		}
	}
	r := ts.do(t, http.MethodPost, path, body, nil)
	res := paramResult{resp: r}
	if r.status != http.StatusOK {
		return res
	}
	model, req := fake.lastRequest(t)
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	res.observed = model + "\n" + string(b) + "\n" + r.header.Get("Content-Type") + "\n" + volatile.ReplaceAllString(string(r.body), `"$1":-`)
	return res
}

// mergeJSON returns the object base with the fields of add set on it; add
// may hold several objects separated by "|", applied in order.
func mergeJSON(t *testing.T, base, add string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatalf("%s: %v", base, err)
	}
	for _, part := range strings.Split(add, "|") {
		if part == "" {
			continue
		}
		var more map[string]json.RawMessage
		if err := json.Unmarshal([]byte(part), &more); err != nil {
			t.Fatalf("%s: %v", part, err)
		}
		for k, v := range more {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
