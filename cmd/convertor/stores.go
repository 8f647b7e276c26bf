package main

import (
	"context"
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// openStores connects the stores the settings name (DYNAMODB_*,
// USAGE_TTL_DAYS): the one place a command builds them.
func openStores(ctx context.Context, env *environment) (*stores.Stores, error) {
	cfg, err := stores.LoadConfig(env.getenv)
	if err != nil {
		return nil, err
	}
	return stores.Open(ctx, cfg)
}

// storeCommands are the commands of people at a terminal that read or
// write the DynamoDB tables.
var storeCommands = map[string]bool{"keys": true, "tables": true, "routes": true, "prices": true, "usage": true, "replay": true}

// storeHint says how to reach a store when a store command failed for want
// of one, or returns "". Without DYNAMODB_ENDPOINT_URL the commands go to
// DynamoDB on AWS, and with no AWS credentials the AWS SDK's error says
// only that it found none, not that a local store was probably meant.
func storeHint(command string, getenv func(string) string, err error) string {
	if !storeCommands[command] {
		return ""
	}
	msg := err.Error()
	// The AWS SDK reports a failed credential lookup as "get identity:
	// get credentials: ..." and has no error type for it.
	creds := strings.Contains(msg, "get identity: ") || strings.Contains(msg, "get credentials")
	if !creds && convertor.ErrorCode(err) != convertor.EUnavailable {
		return ""
	}
	if ep := strings.TrimSpace(getenv("DYNAMODB_ENDPOINT_URL")); ep != "" {
		return "hint: nothing answers at DYNAMODB_ENDPOINT_URL=" + ep + "; start the local stack first (make run), or unset it to use DynamoDB on AWS."
	}
	why := "no DynamoDB could be reached"
	if creds {
		why = "no AWS credentials were found, and DYNAMODB_ENDPOINT_URL is not set"
	}
	return "hint: " + why + ". For the local store of `make run`, set DYNAMODB_ENDPOINT_URL=http://127.0.0.1:8001 (" +
		"the address it prints); for DynamoDB on AWS, provide AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID " +
		"and AWS_SECRET_ACCESS_KEY, or an instance role) and AWS_REGION."
}
