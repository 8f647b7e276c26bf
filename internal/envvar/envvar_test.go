package envvar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// read runs read over a Reader whose only variable is V (absent when v is
// "unset") and returns what read returned and the error collected.
func read[T any](v string, read func(r *Reader) T) (T, error) {
	r := New(func(k string) string {
		if k == "V" && v != "unset" {
			return v
		}
		return ""
	})
	got := read(r)
	return got, r.Err()
}

// checkErr fails t unless err is nil when want is empty, or is exactly want.
func checkErr(t testing.TB, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error = %v, want none", err)
	case want != "" && err == nil:
		t.Errorf("error = nil, want %q", want)
	case want != "" && err.Error() != want:
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestReader_String(t *testing.T) {
	for _, tt := range []struct {
		v, want string
	}{
		{"unset", "def"},
		{"", "def"},
		{"   ", "def"},
		{"value", "value"},
		{"  padded \t", "padded"},
	} {
		got, err := read(tt.v, func(r *Reader) string { return r.String("V", "def") })
		if got != tt.want || err != nil {
			t.Errorf("String(%q) = %q, %v; want %q, nil", tt.v, got, err, tt.want)
		}
	}
}

func TestReader_IsSet(t *testing.T) {
	for v, want := range map[string]bool{"unset": false, "": false, " ": false, "0": true} {
		if got, _ := read(v, func(r *Reader) bool { return r.IsSet("V") }); got != want {
			t.Errorf("IsSet(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestReader_Bool(t *testing.T) {
	for _, tt := range []struct {
		v       string
		def     bool
		want    bool
		wantErr string
	}{
		{v: "unset", def: true, want: true},
		{v: "", def: false, want: false},
		{v: "true", want: true},
		{v: "TRUE", want: true},
		{v: " True ", want: true},
		{v: "1", want: true},
		{v: "false", def: true, want: false},
		{v: "False", def: true, want: false},
		{v: "0", def: true, want: false},
		{v: "yes", def: true, want: true, wantErr: `V: "yes" is not a boolean (use true, false, 1 or 0)`},
		{v: "2", want: false, wantErr: `V: "2" is not a boolean (use true, false, 1 or 0)`},
		{v: "t", want: false, wantErr: `V: "t" is not a boolean (use true, false, 1 or 0)`},
	} {
		t.Run(tt.v, func(t *testing.T) {
			got, err := read(tt.v, func(r *Reader) bool { return r.Bool("V", tt.def) })
			if got != tt.want {
				t.Errorf("Bool(%q, %v) = %v, want %v", tt.v, tt.def, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestReader_Int(t *testing.T) {
	for _, tt := range []struct {
		v       string
		min     int
		want    int
		wantErr string
	}{
		{v: "unset", min: 1, want: 7},
		{v: " ", min: 1, want: 7},
		{v: "30", min: 1, want: 30},
		{v: " 30 ", min: 1, want: 30},
		{v: "+30", min: 1, want: 30},
		{v: "1", min: 1, want: 1},
		{v: "0", min: 0, want: 0},
		{v: "-2", min: -5, want: -2},
		{v: "0", min: 1, want: 7, wantErr: `V: "0" is below the minimum 1`},
		{v: "-1", min: 0, want: 7, wantErr: `V: "-1" is below the minimum 0`},
		{v: "many", min: 1, want: 7, wantErr: `V: "many" is not an integer (use 1 or more)`},
		{v: "1.5", min: 0, want: 7, wantErr: `V: "1.5" is not an integer (use 0 or more)`},
		{v: "0x10", min: 0, want: 7, wantErr: `V: "0x10" is not an integer (use 0 or more)`},
		{v: "1_000", min: 0, want: 7, wantErr: `V: "1_000" is not an integer (use 0 or more)`},
		{v: "99999999999999999999", min: 0, want: 7, wantErr: `V: "99999999999999999999" is above the maximum 9223372036854775807`},
		{v: "-99999999999999999999", min: 0, want: 7, wantErr: `V: "-99999999999999999999" is below the minimum 0`},
	} {
		t.Run(tt.v, func(t *testing.T) {
			got, err := read(tt.v, func(r *Reader) int { return r.Int("V", 7, tt.min) })
			if got != tt.want {
				t.Errorf("Int(%q, 7, %d) = %d, want %d", tt.v, tt.min, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestReader_IntRange(t *testing.T) {
	for _, tt := range []struct {
		v       string
		want    int
		wantErr string
	}{
		{v: "unset", want: 4222},
		{v: "0", want: 0},
		{v: "65535", want: 65535},
		{v: "65536", want: 4222, wantErr: `V: "65536" is above the maximum 65535`},
		{v: "-1", want: 4222, wantErr: `V: "-1" is below the minimum 0`},
		{v: "http", want: 4222, wantErr: `V: "http" is not an integer (use 0 to 65535)`},
	} {
		t.Run(tt.v, func(t *testing.T) {
			got, err := read(tt.v, func(r *Reader) int { return r.IntRange("V", 4222, 0, 65535) })
			if got != tt.want {
				t.Errorf("IntRange(%q, 4222, 0, 65535) = %d, want %d", tt.v, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestReader_Int64(t *testing.T) {
	for _, tt := range []struct {
		v       string
		want    int64
		wantErr string
	}{
		{v: "unset", want: 64 << 20},
		{v: "9223372036854775807", want: 9223372036854775807},
		{v: "0", want: 64 << 20, wantErr: `V: "0" is below the minimum 1`},
		{v: "64MB", want: 64 << 20, wantErr: `V: "64MB" is not an integer (use 1 or more)`},
	} {
		t.Run(tt.v, func(t *testing.T) {
			got, err := read(tt.v, func(r *Reader) int64 { return r.Int64("V", 64<<20, 1) })
			if got != tt.want {
				t.Errorf("Int64(%q, 64 MiB, 1) = %d, want %d", tt.v, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestReader_Duration(t *testing.T) {
	const def = 5 * time.Second
	for _, tt := range []struct {
		v       string
		min     time.Duration
		want    time.Duration
		wantErr string
	}{
		{v: "unset", want: def},
		{v: "", want: def},
		{v: "30", want: 30 * time.Second},
		{v: " 30 ", want: 30 * time.Second},
		{v: "90s", want: 90 * time.Second},
		{v: "5m", want: 5 * time.Minute},
		{v: "1h30m", want: 90 * time.Minute},
		{v: "250ms", want: 250 * time.Millisecond},
		{v: "0", want: 0},
		{v: "0s", want: 0},
		{v: "1ns", min: Positive, want: time.Nanosecond},
		{v: "60", min: time.Second, want: time.Minute},
		{v: "0", min: Positive, want: def, wantErr: `V: "0" is not positive`},
		{v: "0s", min: Positive, want: def, wantErr: `V: "0s" is not positive`},
		{v: "-5s", want: def, wantErr: `V: "-5s" is negative`},
		{v: "-5", min: Positive, want: def, wantErr: `V: "-5" is negative`},
		{v: "500ms", min: time.Second, want: def, wantErr: `V: "500ms" is below the minimum 1s`},
		{v: "5x", want: def, wantErr: `V: "5x" is not a duration (use 30s, 5m or whole seconds)`},
		{v: "1.5", want: def, wantErr: `V: "1.5" is not a duration (use 30s, 5m or whole seconds)`},
		{v: "soon", want: def, wantErr: `V: "soon" is not a duration (use 30s, 5m or whole seconds)`},
		{v: "9999999999999", want: def, wantErr: `V: "9999999999999" is not a duration (use 30s, 5m or whole seconds)`},
	} {
		t.Run(tt.v, func(t *testing.T) {
			got, err := read(tt.v, func(r *Reader) time.Duration { return r.Duration("V", def, tt.min) })
			if got != tt.want {
				t.Errorf("Duration(%q, %s, %s) = %s, want %s", tt.v, def, tt.min, got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

// TestReader_Err checks that every problem is reported, in the order read,
// and that good variables read among bad ones are unaffected.
func TestReader_Err(t *testing.T) {
	env := map[string]string{
		"KEY_CACHE_TTL": "5x", "BATCH": "0", "VISION": "yes", "PORT": "70000",
		"WINDOW": "30", "NAME": "n", "SIZE": "x",
	}
	r := New(func(k string) string { return env[k] })
	if r.Err() != nil {
		t.Fatalf("Err() before reading = %v, want nil", r.Err())
	}
	ttl := r.Duration("KEY_CACHE_TTL", time.Second, Positive)
	window := r.Duration("WINDOW", time.Minute, time.Second)
	batch := r.Int("BATCH", 100, 1)
	name := r.String("NAME", "def")
	vision := r.Bool("VISION", true)
	port := r.IntRange("PORT", 8000, 0, 65535)
	size := r.Int64("SIZE", 10, 1)
	if ttl != time.Second || window != 30*time.Second || batch != 100 || name != "n" || !vision || port != 8000 || size != 10 {
		t.Errorf("values = %s %s %d %q %v %d %d", ttl, window, batch, name, vision, port, size)
	}
	want := strings.Join([]string{
		`KEY_CACHE_TTL: "5x" is not a duration (use 30s, 5m or whole seconds)`,
		`BATCH: "0" is below the minimum 1`,
		`VISION: "yes" is not a boolean (use true, false, 1 or 0)`,
		`PORT: "70000" is above the maximum 65535`,
		`SIZE: "x" is not an integer (use 1 or more)`,
	}, "\n")
	err := r.Err()
	checkErr(t, err, want)
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 5 {
		t.Errorf("Err() = %v, want 5 joined errors", err)
	}
}
