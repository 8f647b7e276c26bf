package envvar

import (
	"errors"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	env := map[string]string{"N": "7", "BAD_N": "-3", "D": "250ms", "BAD_D": "soon", "ZERO_D": "0s"}
	r := New(func(k string) string { return env[k] })
	n, bad, unset := 1, 2, 3
	d, badD, zeroD := time.Second, time.Second, time.Second
	r.PositiveInt("N", &n)
	r.PositiveInt("BAD_N", &bad)
	r.PositiveInt("UNSET", &unset)
	r.PositiveDuration("D", &d)
	r.PositiveDuration("BAD_D", &badD)
	r.PositiveDuration("ZERO_D", &zeroD)
	if n != 7 || bad != 2 || unset != 3 || d != 250*time.Millisecond || badD != time.Second || zeroD != time.Second {
		t.Errorf("values = %d %d %d %v %v %v", n, bad, unset, d, badD, zeroD)
	}
	want := `BAD_N: "-3" is not a positive integer
BAD_D: "soon" is not a positive duration
ZERO_D: "0s" is not a positive duration`
	if got := errors.Join(r.Errs...).Error(); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}
