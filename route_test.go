package convertor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitInferenceProfile(t *testing.T) {
	const model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	type split struct{ Geography, ModelID string }
	tests := []struct {
		name string
		id   string
		want split
	}{
		{"Global", "global." + model, split{"global", model}},
		{"US", "us." + model, split{"us", model}},
		{"EU", "eu." + model, split{"eu", model}},
		{"APAC", "apac." + model, split{"apac", model}},
		{"JP", "jp." + model, split{"jp", model}},
		{"AU", "au." + model, split{"au", model}},
		{"CA", "ca." + model, split{"ca", model}},
		// "us-gov." is not "us." followed by "gov.".
		{"USGov", "us-gov." + model, split{"us-gov", model}},
		{"FoundationModel", model, split{"", model}},
		{"OnlyOnePrefix", "us.eu." + model, split{"us", "eu." + model}},
		{"PrefixOnly", "us.", split{"us", ""}},
		{"NoDot", "us", split{"", "us"}},
		{"UnknownGeography", "mars." + model, split{"", "mars." + model}},
		{"UpperCase", "US." + model, split{"", "US." + model}},
		{"Empty", "", split{"", ""}},
		// An ARN is not a profile id; its resource name is split by the caller.
		{"FoundationModelARN", "arn:aws:bedrock:us-east-1::foundation-model/" + model, split{"", "arn:aws:bedrock:us-east-1::foundation-model/" + model}},
		{"InferenceProfileARN", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + model, split{"", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + model}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got split
			got.Geography, got.ModelID = SplitInferenceProfile(tt.id)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SplitInferenceProfile(%q) mismatch (-want +got):\n%s", tt.id, diff)
			}
		})
	}
}

func TestIsBedrockModelID(t *testing.T) {
	const model = "anthropic.claude-haiku-4-5-20251001-v1:0"
	tests := []struct {
		id   string
		want bool
	}{
		{model, true},
		{"global." + model, true},
		{"us." + model, true},
		{"eu." + model, true},
		{"apac." + model, true},
		{"jp." + model, true},
		{"au." + model, true},
		{"ca." + model, true},
		{"us-gov." + model, true},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", true},
		{"arn:aws:bedrock:us-east-1::foundation-model/" + model, true},
		{"arn:aws:bedrock:us-east-1", false},
		{"arn:aws:bedrock:us-east-1::foundation-model/a b", false},
		// A prefix alone, or before nothing Bedrock could serve.
		{"us.", false},
		{"us.anthropic", false},
		{"claude-haiku-4-5", false},
		{"anthropic.", false},
		{".claude", false},
		{"anthropic.claude haiku", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := IsBedrockModelID(tt.id); got != tt.want {
				t.Errorf("IsBedrockModelID(%q) = %t, want %t", tt.id, got, tt.want)
			}
		})
	}
}
