package adminapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite adminui/openapi.json, the document the portal's typed client is generated from")

// portalOpenAPI is the admin portal's copy of the OpenAPI document:
// `npm run gen:api` builds adminui/src/api/schema.d.ts from it, offline.
var portalOpenAPI = filepath.Join("..", "adminui", "openapi.json")

// TestOpenAPI_PortalCopyIsCurrent fails when the API changed and the
// portal's copy of the document did not; `make openapi` rewrites it and
// regenerates the portal's client, whose own test then checks the
// generated types against the copy.
func TestOpenAPI_PortalCopyIsCurrent(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := want(t, a.do("GET", "/api/openapi.json", "", nil), 200, "openapi.json")
	var doc any
	r.json(t, &doc)
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateOpenAPI {
		if err := os.WriteFile(portalOpenAPI, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(portalOpenAPI)
	if err != nil {
		t.Fatalf("%v: run make openapi", err)
	}
	if !bytes.Equal(have, got) {
		t.Errorf("adminui/openapi.json is not the admin API's document: run make openapi (it rewrites the copy and regenerates adminui/src/api/schema.d.ts)")
	}
}
