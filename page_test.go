package convertor

import "testing"

func TestPageLimit(t *testing.T) {
	tests := []struct {
		in, want int
		code     string
	}{
		{0, DefaultPageSize, ""},
		{1, 1, ""},
		{MaxPageSize, MaxPageSize, ""},
		{MaxPageSize + 1, 0, EInvalid},
		{-1, 0, EInvalid},
	}
	for _, tt := range tests {
		got, err := PageLimit(tt.in)
		if got != tt.want || ErrorCode(err) != tt.code {
			t.Errorf("PageLimit(%d) = %d, %v; want %d, code %q", tt.in, got, err, tt.want, tt.code)
		}
	}
}
