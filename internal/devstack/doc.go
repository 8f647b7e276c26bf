// Package devstack runs, inside the `convertor dev` process, the servers a
// deployment gets from AWS or docker-compose: NATS with JetStream on a file
// store (StartNATS) and a DynamoDB-compatible server whose tables survive
// restarts in a snapshot file (StartDynamoDB). Both listen on loopback
// only: they have no authentication.
package devstack
