package auth

import (
	"context"
	"testing"
)

func TestPrincipal_CanWrite(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p    *Principal
		want bool
	}{
		{&Principal{Role: RoleAdmin}, true},
		{&Principal{Role: RoleViewer}, false},
		{&Principal{}, false},
		{nil, false},
	} {
		if got := tt.p.CanWrite(); got != tt.want {
			t.Errorf("%+v.CanWrite() = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestFromContext(t *testing.T) {
	t.Parallel()
	if p, ok := FromContext(context.Background()); ok || p != nil {
		t.Errorf("FromContext(empty) = %v, %v", p, ok)
	}
	if p, ok := FromContext(WithPrincipal(context.Background(), nil)); ok || p != nil {
		t.Errorf("FromContext(nil principal) = %v, %v", p, ok)
	}
	want := &Principal{Subject: "s", Role: RoleViewer, Mode: ModeCognito}
	if p, ok := FromContext(WithPrincipal(context.Background(), want)); !ok || p != want {
		t.Errorf("FromContext() = %v, %v; want %v", p, ok, want)
	}
}
