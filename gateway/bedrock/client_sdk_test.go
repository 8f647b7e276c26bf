package bedrock_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

var pngBytes = []byte("\x89PNG\r\n\x1a\nfake image bytes")

// richRequest exercises every member the gateway sends, in our wire types;
// richSDKInput is the same request in the SDK's types.
func richRequest() *bedrock.ConverseRequest {
	return &bedrock.ConverseRequest{
		System: []bedrock.SystemBlock{{Text: new("Be brief.")}, {CachePoint: &bedrock.CachePoint{Type: "default"}}},
		Messages: []bedrock.Message{
			{Role: bedrock.RoleUser, Content: []bedrock.ContentBlock{
				{Text: new("What is in this picture, and the weather?")},
				{Image: &bedrock.ImageBlock{Format: "png", Source: bedrock.ImageSource{Bytes: pngBytes}}},
			}},
			{Role: bedrock.RoleAssistant, Content: []bedrock.ContentBlock{
				{Text: new("Checking.")},
				{ToolUse: &bedrock.ToolUseBlock{ToolUseID: "tooluse_1", Name: "get_weather", Input: json.RawMessage(`{"city":"Paris","days":2}`)}},
			}},
			{Role: bedrock.RoleUser, Content: []bedrock.ContentBlock{
				{ToolResult: &bedrock.ToolResultBlock{ToolUseID: "tooluse_1", Status: "success", Content: []bedrock.ToolResultContent{
					{Text: new("sunny")}, {JSON: json.RawMessage(`{"temp":21}`)},
				}}},
				{Text: new("Thanks")},
			}},
		},
		InferenceConfig: &bedrock.InferenceConfig{MaxTokens: new(1000), Temperature: new(0.5), StopSequences: []string{"END"}},
		ToolConfig: &bedrock.ToolConfig{
			Tools: []bedrock.Tool{{ToolSpec: &bedrock.ToolSpec{Name: "get_weather", Description: "Weather by city",
				InputSchema: bedrock.InputSchema{JSON: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}},
			ToolChoice: &bedrock.ToolChoice{Auto: &struct{}{}},
		},
		AdditionalModelRequestFields: json.RawMessage(`{"top_k":5}`),
		RequestMetadata:              map[string]string{"user": "u-1"},
	}
}

func richSDKInput(modelID string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(modelID),
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Be brief."},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}},
		Messages: []types.Message{
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
				&types.ContentBlockMemberText{Value: "What is in this picture, and the weather?"},
				&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: pngBytes}}},
			}},
			{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
				&types.ContentBlockMemberText{Value: "Checking."},
				&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("tooluse_1"), Name: aws.String("get_weather"),
					Input: document.NewLazyDocument(map[string]any{"city": "Paris", "days": 2})}},
			}},
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
				&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{ToolUseId: aws.String("tooluse_1"), Status: types.ToolResultStatusSuccess,
					Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sunny"},
						&types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{"temp": 21})}}}},
				&types.ContentBlockMemberText{Value: "Thanks"},
			}},
		},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(1000), Temperature: aws.Float32(0.5), StopSequences: []string{"END"}},
		ToolConfig: &types.ToolConfiguration{
			Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), Description: aws.String("Weather by city"),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object",
					"properties": map[string]any{"city": map[string]any{"type": "string"}}})}}}},
			ToolChoice: &types.ToolChoiceMemberAuto{},
		},
		AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"top_k": 5}),
		RequestMetadata:              map[string]string{"user": "u-1"},
	}
}

// TestClient_WireFidelity checks that our client and the SDK send the same
// JSON for the same request, and both are accepted by the emulator.
func TestClient_WireFidelity(t *testing.T) {
	t.Parallel()
	rec, c, url := newRecorder(t)
	if _, err := c.Converse(context.Background(), sonnet, richRequest()); err != nil {
		t.Fatalf("our Converse: %v", err)
	}
	_, ours, ourAuth := rec.last()
	sdk := bedrock.NewSDKClient(testAWSConfig, bedrock.ClientConfig{Endpoint: url, MaxRetries: -1})
	if _, err := sdk.Converse(context.Background(), richSDKInput(sonnet)); err != nil {
		t.Fatalf("SDK Converse: %v", err)
	}
	_, theirs, sdkAuth := rec.last()
	var a, b any
	if err := json.Unmarshal(ours, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(theirs, &b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("request body mismatch (-sdk +ours):\n%s", diff)
	}
	// Same signing scope and signed headers as the SDK (the signature
	// itself differs with the time and the SDK's extra headers).
	scope := "/us-east-1/bedrock/aws4_request"
	if !strings.Contains(ourAuth, scope) || !strings.Contains(sdkAuth, scope) {
		t.Errorf("credential scope: ours %q, sdk %q, want %q in both", ourAuth, sdkAuth, scope)
	}
}

// TestClient_ModelIDEscaping compares the request path our client sends
// with the SDK's for model ids with ':' and '/' (ARNs), and checks the
// emulator resolves them.
func TestClient_ModelIDEscaping(t *testing.T) {
	t.Parallel()
	rec, c, url := newRecorder(t)
	sdk := bedrock.NewSDKClient(testAWSConfig, bedrock.ClientConfig{Endpoint: url, MaxRetries: -1})
	for _, id := range []string{
		sonnet,
		"anthropic.claude-3-5-haiku-20241022-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
		"arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0",
	} {
		t.Run(id, func(t *testing.T) {
			if _, err := c.Converse(context.Background(), id, userRequest("hi")); err != nil {
				t.Fatalf("our Converse: %v", err)
			}
			ours, _, _ := rec.last()
			if _, err := sdk.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(id),
				Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}}); err != nil {
				t.Fatalf("SDK Converse: %v", err)
			}
			theirs, _, _ := rec.last()
			if ours != theirs {
				t.Errorf("path = %q, SDK sends %q", ours, theirs)
			}
			s, err := c.ConverseStream(context.Background(), id, userRequest("hi"))
			if err != nil {
				t.Fatalf("our ConverseStream: %v", err)
			}
			s.Close()
			if p, _, _ := rec.last(); p != strings.TrimSuffix(ours, "converse")+"converse-stream" {
				t.Errorf("stream path = %q", p)
			}
		})
	}
}

// BenchmarkClient compares our hand-driven client with the SDK client
// against the emulator over loopback.
func BenchmarkClient(b *testing.B) {
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	defer srv.Close()
	cfg := bedrock.ClientConfig{Endpoint: srv.URL, MaxRetries: -1}
	ours, err := bedrock.NewClient(testAWSConfig, cfg)
	if err != nil {
		b.Fatal(err)
	}
	sdk := bedrock.NewSDKClient(testAWSConfig, cfg)
	const prompt = "Write a short poem about the sea, the wind and the sky, in three stanzas."
	req := richRequest()
	req.Messages[2].Content[1].Text = new(prompt)
	in := richSDKInput(sonnet)
	in.Messages[2].Content[1] = &types.ContentBlockMemberText{Value: prompt}
	ctx := context.Background()

	// Check once, before timing, that both get the same answer.
	want, err := ours.Converse(ctx, sonnet, req)
	if err != nil {
		b.Fatal(err)
	}
	got, err := sdk.Converse(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	if aws.ToInt32(got.Usage.TotalTokens) != int32(want.Usage.TotalTokens) {
		b.Fatalf("SDK usage %d, ours %d: not the same request", aws.ToInt32(got.Usage.TotalTokens), want.Usage.TotalTokens)
	}

	b.Run("Converse/Ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ours.Converse(ctx, sonnet, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Converse/SDK", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdk.Converse(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ConverseStream/Ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := ours.ConverseStream(ctx, sonnet, req)
			if err != nil {
				b.Fatal(err)
			}
			var ev bedrock.StreamEvent
			for {
				if err := s.Next(&ev); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
			s.Close()
		}
	})
	b.Run("ConverseStream/SDK", func(b *testing.B) {
		b.ReportAllocs()
		sin := &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages, System: in.System,
			InferenceConfig: in.InferenceConfig, ToolConfig: in.ToolConfig, AdditionalModelRequestFields: in.AdditionalModelRequestFields,
			RequestMetadata: in.RequestMetadata}
		// The SDK occasionally loses a stream here with "use of closed
		// network connection" (see TestClient_Concurrent); count those
		// rather than abort, so the timing stays comparable.
		failed := 0
		for b.Loop() {
			out, err := sdk.ConverseStream(ctx, sin)
			if err != nil {
				b.Fatal(err)
			}
			es := out.GetStream()
			for range es.Events() {
			}
			if err := es.Err(); err != nil {
				if !strings.Contains(err.Error(), "use of closed network connection") {
					b.Fatal(err)
				}
				failed++
			}
			es.Close()
		}
		b.ReportMetric(float64(failed), "lost-streams")
	})
}

// BenchmarkSign measures SigV4 signing of one attempt, the payload hash
// included, for a typical request body.
func BenchmarkSign(b *testing.B) {
	c, err := bedrock.NewClient(testAWSConfig, bedrock.ClientConfig{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(richRequest())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := bedrock.SignForBench(c, sonnet, body); err != nil {
			b.Fatal(err)
		}
	}
}
