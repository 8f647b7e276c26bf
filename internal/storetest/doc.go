// Package storetest holds the contract suites of the root store
// interfaces: one exported function per interface (APIKeyStore,
// UsageStore, PriceStore, StatsStore, RouteStore, AuditStore) that runs
// every behaviour the interface promises against the stores a
// constructor returns.
//
// Every backend of a root store interface must pass its suite: the
// DynamoDB stores (internal/dynamo, on each server and code path they
// support) and the in-memory ones (internal/memstore) run them from their
// tests, and so must any store added later. A behaviour the interface
// documents belongs here, not in one backend's tests; only what a single
// implementation can get wrong (its crash safety, chunking, TTL, sharing
// memory with callers) is tested beside it.
//
// The suites call t.Parallel in each subtest, so the constructor is
// called concurrently and each call must return an empty store of its
// own. The helpers are exported for those implementation tests; each
// takes a testing.TB and calls Helper.
package storetest
