package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openai-api-convertor/convertor"
)

// RouteStore runs the RouteStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func RouteStore(t *testing.T, newStore func(t *testing.T) convertor.RouteStore) {
	ctx := context.Background()
	sonnetEU := "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
	arn := "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"

	t.Run("PutAndList", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if got, err := s.Routes(ctx); err != nil || len(got) != 0 {
			t.Fatalf("Routes(empty) = %v, %v; want none", got, err)
		}
		before := time.Now()
		// The store says where a route came from and when: what the caller
		// puts in Source and UpdatedAt is not kept.
		MustPutRoute(t, s, convertor.Route{Model: "team-sonnet", BedrockModelID: sonnetEU, Source: "default", UpdatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}, false)
		MustPutRoute(t, s, convertor.Route{Model: "claude-sonnet-4-5", BedrockModelID: arn}, false)
		after := time.Now()

		got, err := s.Routes(ctx)
		if err != nil {
			t.Fatalf("Routes() error = %v", err)
		}
		want := []convertor.Route{
			{Model: "claude-sonnet-4-5", BedrockModelID: arn, Source: convertor.RouteSourceAdmin},
			{Model: "team-sonnet", BedrockModelID: sonnetEU, Source: convertor.RouteSourceAdmin},
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(convertor.Route{}, "UpdatedAt")); diff != "" {
			t.Errorf("Routes() mismatch, want admin routes ordered by model (-want +got):\n%s", diff)
		}
		for _, r := range got {
			if r.UpdatedAt.Before(before) || r.UpdatedAt.After(after) {
				t.Errorf("route %s UpdatedAt = %v, want the time of the put (between %v and %v)", r.Model, r.UpdatedAt, before, after)
			}
		}
	})

	t.Run("Replace", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		MustPutRoute(t, s, convertor.Route{Model: "team-sonnet", BedrockModelID: sonnetEU}, false)
		first := MustRoutes(t, s)[0]
		MustPutRoute(t, s, convertor.Route{Model: "team-sonnet", BedrockModelID: arn}, true)
		got := MustRoutes(t, s)
		if len(got) != 1 || got[0].BedrockModelID != arn || got[0].UpdatedAt.Before(first.UpdatedAt) {
			t.Errorf("Routes() after replace = %+v, want one route to %s updated after %v", got, arn, first.UpdatedAt)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, r := range []convertor.Route{
			{Model: "", BedrockModelID: sonnetEU},
			{Model: "has space", BedrockModelID: sonnetEU},
			{Model: "team-sonnet"},
			{Model: "team-sonnet", BedrockModelID: "not a model id"},
		} {
			replaced, err := s.PutRoute(ctx, r)
			WantCode(t, "PutRoute("+r.Model+", "+r.BedrockModelID+")", err, convertor.EInvalid)
			if replaced {
				t.Errorf("PutRoute(invalid) replaced = true")
			}
		}
		if got := MustRoutes(t, s); len(got) != 0 {
			t.Errorf("Routes() after invalid puts = %+v, want none", got)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		MustPutRoute(t, s, convertor.Route{Model: "team-sonnet", BedrockModelID: sonnetEU}, false)
		MustPutRoute(t, s, convertor.Route{Model: "team-haiku", BedrockModelID: "global.anthropic.claude-haiku-4-5-20251001-v1:0"}, false)
		if err := s.DeleteRoute(ctx, "team-sonnet"); err != nil {
			t.Fatalf("DeleteRoute() error = %v", err)
		}
		if got := MustRoutes(t, s); len(got) != 1 || got[0].Model != "team-haiku" {
			t.Errorf("Routes() after delete = %+v, want team-haiku only", got)
		}
		for _, model := range []string{"team-sonnet", "never-routed", "", "has space"} {
			WantCode(t, "DeleteRoute("+model+")", s.DeleteRoute(ctx, model), convertor.ENotFound)
		}
		// A deleted route can be put again, as a new one.
		MustPutRoute(t, s, convertor.Route{Model: "team-sonnet", BedrockModelID: sonnetEU}, false)
	})
}

// MustPutRoute puts r and stops t unless PutRoute succeeds and reports
// replaced as wantReplaced.
func MustPutRoute(t testing.TB, s convertor.RouteStore, r convertor.Route, wantReplaced bool) {
	t.Helper()
	replaced, err := s.PutRoute(context.Background(), r)
	if err != nil {
		t.Fatalf("PutRoute(%s) error = %v", r.Model, err)
	}
	if replaced != wantReplaced {
		t.Fatalf("PutRoute(%s) replaced = %t, want %t", r.Model, replaced, wantReplaced)
	}
}

// MustRoutes returns the store's routes, stopping t on an error.
func MustRoutes(t testing.TB, s convertor.RouteStore) []convertor.Route {
	t.Helper()
	got, err := s.Routes(context.Background())
	if err != nil {
		t.Fatalf("Routes() error = %v", err)
	}
	return got
}
