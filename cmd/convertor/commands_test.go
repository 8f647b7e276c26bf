package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		env      map[string]string
		wantJSON bool
		wantErr  string
	}{
		{name: "defaults"},
		{name: "json, spaces ignored", env: map[string]string{"LOG_FORMAT": " JSON ", "LOG_LEVEL": "debug"}, wantJSON: true},
		{name: "bad level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: `LOG_LEVEL: "loud" is not a level (use debug, info, warn or error)`},
		{name: "bad format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: `LOG_FORMAT: "xml" is not a format (use text or json)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := newLogger(func(k string) string { return tt.env[k] }, &buf)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("newLogger() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newLogger() error = %v", err)
			}
			log.Info("hello")
			if got := strings.HasPrefix(buf.String(), "{"); got != tt.wantJSON {
				t.Errorf("output %q: JSON = %v, want %v", buf.String(), got, tt.wantJSON)
			}
		})
	}
}
