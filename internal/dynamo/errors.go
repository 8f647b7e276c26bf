package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/openai-api-convertor/convertor"
)

// storeError turns a DynamoDB failure of op on table into a domain error,
// keeping the SDK's error in the chain for the log: a missing table or an
// unreachable server is EUnavailable (the caller should retry later, it
// did nothing wrong), a canceled context ECanceled.
func storeError(op, table string, err error) error {
	var code *convertor.Error
	var rnf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &code):
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.Canceled):
		code = convertor.Errorf(convertor.ECanceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		code = convertor.Errorf(convertor.ETimeout, "the store did not answer in time")
	case errors.As(err, &rnf):
		code = convertor.Errorf(convertor.EUnavailable, "table %s does not exist; create it with `convertor tables create`", table)
	default:
		code = convertor.Errorf(convertor.EUnavailable, "the store is unavailable")
	}
	return fmt.Errorf("%s: %w: %w", op, code, err)
}

// isConditionFailed reports whether a single-item write failed its condition.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// canceledReasons returns the per-item codes of a canceled transaction
// ("None", "ConditionalCheckFailed", ...), or ok false if err is not one.
func canceledReasons(err error) (codes []string, ok bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	for _, r := range tce.CancellationReasons {
		code := ""
		if r.Code != nil {
			code = *r.Code
		}
		codes = append(codes, code)
	}
	return codes, true
}

// isUnknownOperation reports whether the server does not implement the
// operation at all, as dynalite answers TransactWriteItems.
func isUnknownOperation(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "UnknownOperationException"
}

// isMissingIndex reports whether a Query named an index the table does not
// have (a table made before the index, whose `tables create` was not run).
func isMissingIndex(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" &&
		strings.Contains(ae.ErrorMessage(), "does not have the specified index")
}
