package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// cdkRoutesFile is what the AWS CDK app knows of the built-in routes: the
// gateway's role may invoke exactly their models and profiles (plus those
// the deployment adds).
var cdkRoutesFile = filepath.Join("..", "..", "deploy", "cdk", "routes.json")

// cdkRoutes is the document of cdkRoutesFile.
type cdkRoutes struct {
	GeneratedBy string `json:"generated_by"`
	// Geographies are the prefixes of cross-region inference-profile ids,
	// for ids the deployment adds.
	Geographies []string   `json:"inference_profile_geographies"`
	Routes      []cdkRoute `json:"routes"`
}

type cdkRoute struct {
	Model          string `json:"model"`
	BedrockModelID string `json:"bedrock_model_id"`
	// Geography is the inference profile's ("global", "us"...), "" for a
	// foundation model.
	Geography string `json:"geography,omitempty"`
	// FoundationModelID is the model behind the profile, or the id itself.
	FoundationModelID string `json:"foundation_model_id"`
}

// TestDefaultRoutes_CDKCopy fails when deploy/cdk/routes.json does not hold
// convertor.DefaultRoutes. After changing them:
//
//	go test ./cmd/convertor -run CDKCopy -update
func TestDefaultRoutes_CDKCopy(t *testing.T) {
	t.Parallel()
	doc := cdkRoutes{
		GeneratedBy: "go test ./cmd/convertor -run CDKCopy -update (convertor.DefaultRoutes); do not edit",
		Geographies: convertor.InferenceProfileGeographies(),
	}
	for _, r := range convertor.DefaultRoutes {
		geo, model := convertor.SplitInferenceProfile(r.BedrockModelID)
		doc.Routes = append(doc.Routes, cdkRoute{Model: r.Model, BedrockModelID: r.BedrockModelID, Geography: geo, FoundationModelID: model})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *updateDefinitions {
		if err := os.WriteFile(cdkRoutesFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(cdkRoutesFile)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./cmd/convertor -run CDKCopy -update)", err)
	}
	if diff := cmp.Diff(string(committed), string(b)); diff != "" {
		t.Errorf("%s is stale; run go test ./cmd/convertor -run CDKCopy -update (-committed +routes):\n%s", cdkRoutesFile, diff)
	}
}
