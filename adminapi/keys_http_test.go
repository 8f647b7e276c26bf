package adminapi

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
)

func TestKeys_Lifecycle(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ks, r := a.createKey(map[string]any{
		"name": "ci bot", "owner": "platform", "allowed_models": []string{"claude-haiku-4-5"},
		"rpm": 60, "tpm": 100000, "monthly_budget_micros": 12_500_000, "expires_at": "2099-01-01T00:00:00Z",
	})
	k := ks.Key
	if !strings.HasPrefix(ks.Secret, "sk-") || len(ks.Secret) != 43 || k.Prefix != ks.Secret[:8] || !strings.HasPrefix(k.ID, "key_") {
		t.Fatalf("create = %+v", ks)
	}
	if r.header.Get("Location") != "/api/keys/"+k.ID || r.header.Get("ETag") != `"1"` || k.Revision != 1 {
		t.Errorf("Location %q ETag %q revision %d", r.header.Get("Location"), r.header.Get("ETag"), k.Revision)
	}
	if k.Status != "active" || !k.Enabled || k.RPM != 60 || k.MonthlyBudgetMicros != 12_500_000 || k.MonthSpendMicros == nil || *k.MonthSpendMicros != 0 {
		t.Errorf("created key = %+v", k)
	}
	hash := convertor.HashAPIKey(ks.Secret)
	// The stored key is the one the gateway looks up by hash.
	stored, err := a.st.Keys.APIKeyByHash(context.Background(), hash)
	if err != nil || stored.ID != k.ID {
		t.Fatalf("APIKeyByHash() = %+v, %v", stored, err)
	}

	get := want(t, a.do("GET", "/api/keys/"+k.ID, viewerToken, nil), 200, "get key")
	var got KeyView
	get.json(t, &got)
	if got.ID != k.ID || got.Name != "ci bot" || get.header.Get("ETag") != `"1"` || got.BudgetResetsAt.IsZero() {
		t.Errorf("get = %+v (ETag %s)", got, get.header.Get("ETag"))
	}

	// A change with the right revision is made; one with a stale revision
	// is refused and changes nothing.
	p := want(t, a.do("PATCH", "/api/keys/"+k.ID, adminToken, map[string]any{"rpm": 120, "allowed_models": nil, "expires_at": nil}, "If-Match", `"1"`), 200, "patch")
	got = KeyView{}
	p.json(t, &got)
	if got.RPM != 120 || len(got.AllowedModels) != 0 || !got.ExpiresAt.IsZero() || got.Revision != 2 || p.header.Get("ETag") != `"2"` {
		t.Errorf("patched = %+v, ETag %s", got, p.header.Get("ETag"))
	}
	wantProblem(t, a.do("PATCH", "/api/keys/"+k.ID, adminToken, map[string]any{"rpm": 1}, "If-Match", `"1"`), 412, "precondition", "")
	wantProblem(t, a.do("PATCH", "/api/keys/"+k.ID, adminToken, map[string]any{"rpm": 1}, "If-Match", "1"), 400, "invalid", "header.If-Match")
	if k2, _ := a.st.Keys.APIKey(context.Background(), k.ID); k2.RPM != 120 {
		t.Errorf("a refused change was stored: rpm %d", k2.RPM)
	}

	// Rotation with a grace period: the old secret still opens the key,
	// as its previous secret, until the grace ends.
	rot := want(t, a.do("POST", "/api/keys/"+k.ID+"/rotate", adminToken, map[string]any{"grace_seconds": 3600}), 200, "rotate")
	var rs KeySecret
	rot.json(t, &rs)
	if rs.Secret == ks.Secret || rs.Key.Prefix != rs.Secret[:8] || rs.Key.PreviousPrefix != k.Prefix || rs.Key.PreviousUntil.IsZero() {
		t.Errorf("rotated = %+v", rs)
	}
	old, err := a.st.Keys.APIKeyByHash(context.Background(), hash)
	if err != nil || old.ID != k.ID || !old.ByPrevious {
		t.Errorf("old secret after rotation = %+v, %v; want the key by its previous secret", old, err)
	} else if ok, _ := old.Usable(time.Now()); !ok {
		t.Errorf("old secret refused during its grace period")
	} else if ok, _ := old.Usable(time.Now().Add(2 * time.Hour)); ok {
		t.Errorf("old secret accepted after its grace period")
	}

	// Revoked: for good, and read-only.
	rev := want(t, a.do("POST", "/api/keys/"+k.ID+"/revoke", adminToken, nil), 200, "revoke")
	got = KeyView{}
	rev.json(t, &got)
	if got.Status != "revoked" || got.RevokedAt.IsZero() || got.Enabled {
		t.Errorf("revoked = %+v, want status revoked, a revocation time and enabled false", got)
	}
	want(t, a.do("POST", "/api/keys/"+k.ID+"/revoke", adminToken, nil), 200, "revoke again")
	wantProblem(t, a.do("PATCH", "/api/keys/"+k.ID, adminToken, map[string]any{"enabled": true}), 409, "conflict", "")
	wantProblem(t, a.do("POST", "/api/keys/"+k.ID+"/rotate", adminToken, nil), 409, "conflict", "")
	if byNew, err := a.st.Keys.APIKeyByHash(context.Background(), convertor.HashAPIKey(rs.Secret)); err != nil {
		t.Fatal(err)
	} else if ok, _ := byNew.Usable(time.Now()); ok {
		t.Errorf("revoked key still usable")
	}

	// No response ever held the secrets or the hash again.
	for _, path := range []string{"/api/keys", "/api/keys/" + k.ID, "/api/audit"} {
		body := string(want(t, a.do("GET", path, adminToken, nil), 200, path).body)
		for _, s := range []string{ks.Secret, rs.Secret, hash, convertor.HashAPIKey(rs.Secret)} {
			if strings.Contains(body, s) {
				t.Errorf("GET %s shows a secret or hash", path)
			}
		}
	}
	// Create, update, rotate, revoke: four audited changes (the second
	// revoke changed nothing).
	if n := a.auditCount(); n != 4 {
		t.Errorf("audit entries = %d, want 4", n)
	}
}

func TestKeys_ListSearchAndPages(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var ids []string
	for i := range 7 {
		ks, _ := a.createKey(map[string]any{"name": fmt.Sprintf("key %d", i), "owner": []string{"team-a", "team-b"}[i%2]})
		ids = append(ids, ks.Key.ID)
	}
	want(t, a.do("PATCH", "/api/keys/"+ids[0], adminToken, map[string]any{"enabled": false}), 200, "disable")

	// Newest first, three pages of 3, 3 and 1 without repeats.
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := "/api/keys?limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var l KeyList
		want(t, a.do("GET", q, viewerToken, nil), 200, "list").json(t, &l)
		for _, k := range l.Keys {
			seen = append(seen, k.ID)
			if k.MonthSpendMicros == nil {
				t.Errorf("listed key %s without its month spend", k.ID)
			}
		}
		if cursor = l.NextCursor; cursor == "" {
			if page != 2 {
				t.Errorf("pages = %d, want 3", page+1)
			}
			break
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(reverse(ids)) {
		t.Errorf("listed %v, want newest first %v", seen, reverse(ids))
	}

	var l KeyList
	want(t, a.do("GET", "/api/keys?q=TEAM-B", viewerToken, nil), 200, "search").json(t, &l)
	if len(l.Keys) != 3 {
		t.Errorf("search team-b found %d keys, want 3", len(l.Keys))
	}
	want(t, a.do("GET", "/api/keys?status=disabled", viewerToken, nil), 200, "status").json(t, &l)
	if len(l.Keys) != 1 || l.Keys[0].ID != ids[0] {
		t.Errorf("status=disabled = %+v", l.Keys)
	}

	for _, bad := range []struct{ query, location string }{
		{"limit=0", "query.limit"}, {"limit=100000", "query.limit"}, {"limit=-1", "query.limit"},
		{"status=sleeping", "query.status"}, {"cursor=not-a-cursor", "query.cursor"},
		{"cursor=" + encodeCursor("a", "b"), "query.cursor"}, {"colour=red", "query.colour"},
	} {
		t.Run(bad.query, func(t *testing.T) {
			wantProblem(t, a.do("GET", "/api/keys?"+bad.query, viewerToken, nil), 400, "invalid", bad.location)
		})
	}
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// TestKeys_ErrInvalid sends bad input to every key write: a clear 400
// naming the field, and nothing stored or audited.
func TestKeys_ErrInvalid(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ks, _ := a.createKey(map[string]any{"name": "target"})
	id := ks.Key.ID
	before := a.auditCount()
	for _, tc := range []struct {
		name, method, path string
		body               any
		location           string
	}{
		{"MalformedJSON", "POST", "/api/keys", `{"name": "x",`, ""},
		{"NotAnObject", "POST", "/api/keys", `[1,2]`, ""},
		{"UnknownField", "POST", "/api/keys", map[string]any{"name": "x", "colour": "red"}, "body.colour"},
		{"MissingName", "POST", "/api/keys", map[string]any{"owner": "x"}, "body.name"},
		{"BlankName", "POST", "/api/keys", map[string]any{"name": "   "}, "body.name"},
		{"NegativeRPM", "POST", "/api/keys", map[string]any{"name": "x", "rpm": -1}, "body.rpm"},
		{"AbsurdRPM", "POST", "/api/keys", map[string]any{"name": "x", "rpm": 1e12}, "body.rpm"},
		{"FractionalBudget", "POST", "/api/keys", map[string]any{"name": "x", "monthly_budget_micros": 12.5}, "body.monthly_budget_micros"},
		{"BudgetAsString", "POST", "/api/keys", map[string]any{"name": "x", "monthly_budget_micros": "12"}, "body.monthly_budget_micros"},
		{"PastExpiry", "POST", "/api/keys", map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "body.expires_at"},
		{"BadExpiry", "POST", "/api/keys", map[string]any{"name": "x", "expires_at": "tomorrow"}, "body.expires_at"},
		{"BadModel", "POST", "/api/keys", map[string]any{"name": "x", "allowed_models": []string{"claude haiku"}}, "body.allowed_models[0]"},
		{"ControlChar", "POST", "/api/keys", map[string]any{"name": "x\u0007"}, "body.name"},
		{"EmptyPatch", "PATCH", "/api/keys/" + id, map[string]any{}, ""},
		{"NullName", "PATCH", "/api/keys/" + id, map[string]any{"name": nil}, "body.name"},
		{"PatchNegativeTPM", "PATCH", "/api/keys/" + id, map[string]any{"tpm": -5}, "body.tpm"},
		{"PatchUnknownField", "PATCH", "/api/keys/" + id, map[string]any{"hash": "x"}, "body.hash"},
		{"GraceTooLong", "POST", "/api/keys/" + id + "/rotate", map[string]any{"grace_seconds": 30 * 24 * 3600}, "body.grace_seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, a.do(tc.method, tc.path, adminToken, tc.body), 400, "invalid", tc.location)
		})
	}
	var l KeyList
	want(t, a.do("GET", "/api/keys", adminToken, nil), 200, "list").json(t, &l)
	if len(l.Keys) != 1 || l.Keys[0].Revision != 1 {
		t.Errorf("after refused requests: %d keys, revision %d; want the one key unchanged", len(l.Keys), l.Keys[0].Revision)
	}
	if n := a.auditCount(); n != before {
		t.Errorf("refused requests were audited: %d entries, want %d", n, before)
	}
}

func TestKeys_ErrNotFound(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	const missing = "key_01JNOTTHERE0000000000000000"
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/keys/" + missing}, {"PATCH", "/api/keys/" + missing}, {"POST", "/api/keys/" + missing + "/rotate"},
		{"POST", "/api/keys/" + missing + "/revoke"}, {"GET", "/api/usage/requests?key_id=" + missing},
	} {
		var body any
		if tc.method == "PATCH" {
			body = map[string]any{"rpm": 1}
		}
		wantProblem(t, a.do(tc.method, tc.path, adminToken, body), 404, "not_found", "")
	}
}
