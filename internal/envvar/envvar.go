// Package envvar reads numeric settings from the environment the way every
// service of the product does: an unset variable keeps the default, a bad
// one is reported with its name, and all problems are collected so that a
// start reports every one of them at once.
package envvar

import (
	"fmt"
	"strconv"
	"time"
)

// Reader reads variables through getenv and collects what is wrong.
type Reader struct {
	getenv func(string) string
	// Errs holds one error per variable that could not be read.
	Errs []error
}

// New returns a Reader over getenv (os.Getenv, or a map in tests).
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// PositiveInt sets *dst from name when it is set; anything but a positive
// integer is an error and leaves *dst alone.
func (r *Reader) PositiveInt(name string, dst *int) {
	v := r.getenv(name)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.Errs = append(r.Errs, fmt.Errorf("%s: %q is not a positive integer", name, v))
		return
	}
	*dst = n
}

// PositiveDuration sets *dst from name when it is set; anything but a
// positive Go duration ("200ms", "1m") is an error and leaves *dst alone.
func (r *Reader) PositiveDuration(name string, dst *time.Duration) {
	v := r.getenv(name)
	if v == "" {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.Errs = append(r.Errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
		return
	}
	*dst = d
}
