package convert

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// jsonObjectInstruction implements response_format json_object. Bedrock has
// no "any JSON" mode, and a json_schema of {"type":"object"} is not one:
// Claude's structured output requires additionalProperties false on every
// object, which would constrain the answer to {}. OpenAI itself requires
// the prompt of a json_object request to ask for JSON, so an instruction
// to answer with one object is what the client already relies on.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else: no prose before or after it and no Markdown code fences."

// outputConfig converts response_format and the adaptive-thinking effort.
// json_object adds a system block instead, so it takes the system blocks.
func (c *requestConverter) outputConfig(system *[]bedrock.SystemBlock) (*bedrock.OutputConfig, error) {
	oc := &bedrock.OutputConfig{Effort: c.thinking.effort}
	if rf := c.req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text":
		case "json_object":
			*system = append(*system, bedrock.SystemBlock{Text: ptr(jsonObjectInstruction)})
		case "json_schema":
			tf, err := c.textFormat(rf.JSONSchema)
			if err != nil {
				return nil, err
			}
			oc.TextFormat = tf
		case "":
			return nil, convertor.ParamErrorf("response_format.type", "response_format.type is required")
		default:
			return nil, convertor.ParamErrorf("response_format.type", "response_format.type must be text, json_object or json_schema, not %q", rf.Type)
		}
	}
	if oc.Effort == "" && oc.TextFormat == nil {
		return nil, nil
	}
	return oc, nil
}

// textFormat converts a json_schema response format into Bedrock
// structured output, which always enforces the schema: OpenAI's strict
// false allows less, never more, so it needs no mapping.
func (c *requestConverter) textFormat(js *openai.JSONSchema) (*bedrock.OutputFormat, error) {
	if !c.caps.StructuredOutput {
		return nil, convertor.ParamErrorf("response_format", "this model (%s) does not support json_schema structured output; use response_format json_object", c.caps.Family)
	}
	if js == nil {
		return nil, convertor.ParamErrorf("response_format.json_schema", "response_format.json_schema is required for type json_schema")
	}
	raw := bytes.TrimSpace(js.Schema)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, convertor.ParamErrorf("response_format.json_schema.schema", "response_format.json_schema.schema is required")
	}
	var buf bytes.Buffer
	if raw[0] != '{' || json.Compact(&buf, raw) != nil {
		return nil, convertor.ParamErrorf("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON Schema object")
	}
	return &bedrock.OutputFormat{
		Type: "json_schema",
		Structure: bedrock.OutputFormatStructure{JSONSchema: &bedrock.JSONSchemaDefinition{
			Schema:      buf.String(),
			Name:        js.Name,
			Description: js.Description,
		}},
	}, nil
}

// maxMetadataValue is Bedrock's length limit on a requestMetadata value.
const maxMetadataValue = 256

// requestMetadata carries the OpenAI user and safety_identifier (its
// successor) into Bedrock's requestMetadata, where they show in invocation
// logs for AWS-side attribution. Bedrock takes values of at most 256
// characters from [a-zA-Z0-9 ._:/=+$@-] (the pattern its invocation-log
// filters share); both are free text in OpenAI and only label the request,
// so other characters become '_' and the value is clipped rather than the
// request refused.
func requestMetadata(user, safetyIdentifier string) map[string]string {
	var md map[string]string
	for _, kv := range [...][2]string{{"user", user}, {"safety_identifier", safetyIdentifier}} {
		if kv[1] == "" {
			continue
		}
		if md == nil {
			md = make(map[string]string, 2)
		}
		md[kv[0]] = metadataValue(kv[1])
	}
	return md
}

// metadataValue fits s to Bedrock's requestMetadata values.
func metadataValue(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxMetadataValue {
			break
		}
		if r == utf8.RuneError || !metadataRune(r) {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func metadataRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(" ._:/=+$@-", r)
}
