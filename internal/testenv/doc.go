// Package testenv connects tests to the real servers the product runs
// against. Each helper reads a TEST_* variable naming a running server. When
// it is unset, a helper either starts a private server in process or skips
// the test, and fails it instead when CI is set, so CI can never pass by
// skipping. Tests sharing a server keep to their own keys, tables or streams.
package testenv
