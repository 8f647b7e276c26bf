package adminapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ks, created := a.createKey(map[string]any{"name": "audited", "rpm": 10})
	id := ks.Key.ID
	patched := want(t, a.do("PATCH", "/api/keys/"+id, adminToken, map[string]any{"rpm": 20}), 200, "patch")
	want(t, a.do("POST", "/api/keys/"+id+"/rotate", adminToken, nil), 200, "rotate")
	want(t, a.do("PUT", "/api/routes/team-model", adminToken, map[string]any{"bedrock_model_id": "anthropic.claude-x-v1:0"}), 201, "route")
	want(t, a.do("DELETE", "/api/routes/team-model", adminToken, nil), 204, "route delete")

	var p AuditPage
	want(t, a.do("GET", "/api/audit", viewerToken, nil), 200, "audit").json(t, &p)
	actions := []string{}
	for _, e := range p.Entries {
		actions = append(actions, e.Action)
		if e.Actor != "alice <alice@example.com>" || e.ActorRole != "admin" || e.AuthMode != "cognito" || e.RequestID == "" || e.Time.IsZero() {
			t.Errorf("entry %+v does not say who made it", e)
		}
		if strings.Contains(string(e.Before)+string(e.After), ks.Secret) || strings.Contains(string(e.Before)+string(e.After), convertor.HashAPIKey(ks.Secret)) {
			t.Errorf("entry %s holds a secret or hash", e.ID)
		}
	}
	if got := strings.Join(actions, ","); got != "route.delete,route.put,key.rotate,key.update,key.create" {
		t.Errorf("actions newest first = %s", got)
	}
	last := p.Entries[len(p.Entries)-1]
	if last.RequestID != created.header.Get("X-Request-Id") || last.ResourceID != id || last.Before != nil {
		t.Errorf("create entry = %+v, want request %s", last, created.header.Get("X-Request-Id"))
	}
	update := p.Entries[len(p.Entries)-2]
	var before, after KeyView
	if err := json.Unmarshal(update.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(update.After, &after); err != nil {
		t.Fatal(err)
	}
	if before.RPM != 10 || after.RPM != 20 || update.RequestID != patched.header.Get("X-Request-Id") {
		t.Errorf("update entry before %d after %d request %s", before.RPM, after.RPM, update.RequestID)
	}
	if p.Entries[0].After != nil || p.Entries[0].Before == nil {
		t.Errorf("delete entry = %+v, want a before and no after", p.Entries[0])
	}

	// Filters and pages.
	want(t, a.do("GET", "/api/audit?resource=key&resource_id="+id, viewerToken, nil), 200, "filter").json(t, &p)
	if len(p.Entries) != 3 {
		t.Errorf("entries of the key = %d, want 3", len(p.Entries))
	}
	q := url.Values{"limit": {"2"}}
	var ids []string
	for range 5 {
		p = AuditPage{}
		want(t, a.do("GET", "/api/audit?"+q.Encode(), viewerToken, nil), 200, "page").json(t, &p)
		for _, e := range p.Entries {
			ids = append(ids, e.ID)
		}
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
	}
	if len(ids) != 5 || ids[0] <= ids[4] {
		t.Errorf("paged ids = %v, want 5 newest first", ids)
	}
	wantProblem(t, a.do("GET", "/api/audit?cursor=bm9wZQ", viewerToken, nil), 400, "invalid", "query.cursor")
	wantProblem(t, a.do("GET", "/api/audit?action=key.explode", viewerToken, nil), 400, "invalid", "query.action")
	wantProblem(t, a.do("GET", "/api/audit?limit=501", viewerToken, nil), 400, "invalid", "query.limit")
	wantProblem(t, a.do("GET", "/api/audit?from=2026-11-02&to=2026-11-01", viewerToken, nil), 400, "invalid", "query.from")
}
