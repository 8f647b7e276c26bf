package dynamolocal

import "github.com/openai-api-convertor/convertor/internal/dynamolocal/attr"

// The JSON shapes of the DynamoDB API (2012-08-10) that the handler reads
// and writes, named as in the API reference.

type attributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type keySchemaElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type projectionJSON struct {
	ProjectionType   string   `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

type provisionedThroughput struct {
	ReadCapacityUnits  int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits int64 `json:"WriteCapacityUnits"`
}

type provisionedThroughputDescription struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

type streamSpecification struct {
	StreamEnabled  bool   `json:"StreamEnabled"`
	StreamViewType string `json:"StreamViewType,omitempty"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type secondaryIndexJSON struct {
	IndexName             string                 `json:"IndexName"`
	KeySchema             []keySchemaElement     `json:"KeySchema"`
	Projection            *projectionJSON        `json:"Projection"`
	ProvisionedThroughput *provisionedThroughput `json:"ProvisionedThroughput,omitempty"`
}

type createTableInput struct {
	TableName              string                 `json:"TableName"`
	AttributeDefinitions   []attributeDefinition  `json:"AttributeDefinitions"`
	KeySchema              []keySchemaElement     `json:"KeySchema"`
	BillingMode            string                 `json:"BillingMode"`
	ProvisionedThroughput  *provisionedThroughput `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexes []secondaryIndexJSON   `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  []secondaryIndexJSON   `json:"LocalSecondaryIndexes"`
	StreamSpecification    *streamSpecification   `json:"StreamSpecification"`
	SSESpecification       any                    `json:"SSESpecification"`
	Tags                   []tag                  `json:"Tags"`
	TableClass             string                 `json:"TableClass"`
	DeletionProtection     *bool                  `json:"DeletionProtectionEnabled"`
}

type tableNameInput struct {
	TableName string `json:"TableName"`
}

type listTablesInput struct {
	ExclusiveStartTableName string `json:"ExclusiveStartTableName"`
	Limit                   *int   `json:"Limit"`
}

type gsiUpdate struct {
	Create *secondaryIndexJSON `json:"Create"`
	Delete *struct {
		IndexName string `json:"IndexName"`
	} `json:"Delete"`
	Update *struct {
		IndexName             string                 `json:"IndexName"`
		ProvisionedThroughput *provisionedThroughput `json:"ProvisionedThroughput"`
	} `json:"Update"`
}

type updateTableInput struct {
	TableName                   string                 `json:"TableName"`
	AttributeDefinitions        []attributeDefinition  `json:"AttributeDefinitions"`
	BillingMode                 string                 `json:"BillingMode"`
	ProvisionedThroughput       *provisionedThroughput `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexUpdates []gsiUpdate            `json:"GlobalSecondaryIndexUpdates"`
	StreamSpecification         *streamSpecification   `json:"StreamSpecification"`
	DeletionProtection          *bool                  `json:"DeletionProtectionEnabled"`
}

type updateTimeToLiveInput struct {
	TableName               string `json:"TableName"`
	TimeToLiveSpecification *struct {
		AttributeName string `json:"AttributeName"`
		Enabled       *bool  `json:"Enabled"`
	} `json:"TimeToLiveSpecification"`
}

// expressionInputs are the expression fields every item operation shares.
type expressionInputs struct {
	ExpressionAttributeNames  map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues attr.Item         `json:"ExpressionAttributeValues"`
}

// legacyInputs are the pre-expression parameters; DynamoDB still accepts
// them, this server refuses them by name rather than ignoring them.
type legacyInputs struct {
	Expected         any `json:"Expected"`
	AttributeUpdates any `json:"AttributeUpdates"`
	AttributesToGet  any `json:"AttributesToGet"`
	KeyConditions    any `json:"KeyConditions"`
	QueryFilter      any `json:"QueryFilter"`
	ScanFilter       any `json:"ScanFilter"`
	ConditionalOp    any `json:"ConditionalOperator"`
}

func (l *legacyInputs) name() string {
	switch {
	case l.Expected != nil:
		return "Expected"
	case l.AttributeUpdates != nil:
		return "AttributeUpdates"
	case l.AttributesToGet != nil:
		return "AttributesToGet"
	case l.KeyConditions != nil:
		return "KeyConditions"
	case l.QueryFilter != nil:
		return "QueryFilter"
	case l.ScanFilter != nil:
		return "ScanFilter"
	case l.ConditionalOp != nil:
		return "ConditionalOperator"
	}
	return ""
}

// writeInputs are the parameters PutItem, DeleteItem and UpdateItem share.
type writeInputs struct {
	expressionInputs
	legacyInputs
	TableName                           string  `json:"TableName"`
	ConditionExpression                 *string `json:"ConditionExpression"`
	ReturnValues                        string  `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string  `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              string  `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics         string  `json:"ReturnItemCollectionMetrics"`
}

type putItemInput struct {
	writeInputs
	Item attr.Item `json:"Item"`
}

type getItemInput struct {
	expressionInputs
	legacyInputs
	TableName              string    `json:"TableName"`
	Key                    attr.Item `json:"Key"`
	ProjectionExpression   *string   `json:"ProjectionExpression"`
	ConsistentRead         bool      `json:"ConsistentRead"`
	ReturnConsumedCapacity string    `json:"ReturnConsumedCapacity"`
}

type deleteItemInput struct {
	writeInputs
	Key attr.Item `json:"Key"`
}

type updateItemInput struct {
	writeInputs
	Key              attr.Item `json:"Key"`
	UpdateExpression *string   `json:"UpdateExpression"`
}

type queryInput struct {
	expressionInputs
	legacyInputs
	TableName              string    `json:"TableName"`
	IndexName              *string   `json:"IndexName"`
	KeyConditionExpression *string   `json:"KeyConditionExpression"`
	FilterExpression       *string   `json:"FilterExpression"`
	ProjectionExpression   *string   `json:"ProjectionExpression"`
	Select                 string    `json:"Select"`
	Limit                  *int      `json:"Limit"`
	ScanIndexForward       *bool     `json:"ScanIndexForward"`
	ExclusiveStartKey      attr.Item `json:"ExclusiveStartKey"`
	ConsistentRead         bool      `json:"ConsistentRead"`
	ReturnConsumedCapacity string    `json:"ReturnConsumedCapacity"`
	Segment                *int      `json:"Segment"`
	TotalSegments          *int      `json:"TotalSegments"`
}

type keysAndAttributes struct {
	expressionInputs
	legacyInputs
	Keys                 []attr.Item `json:"Keys"`
	ProjectionExpression *string     `json:"ProjectionExpression"`
	ConsistentRead       bool        `json:"ConsistentRead"`
}

type batchGetItemInput struct {
	RequestItems           map[string]*keysAndAttributes `json:"RequestItems"`
	ReturnConsumedCapacity string                        `json:"ReturnConsumedCapacity"`
}

type writeRequest struct {
	PutRequest *struct {
		Item attr.Item `json:"Item"`
	} `json:"PutRequest,omitempty"`
	DeleteRequest *struct {
		Key attr.Item `json:"Key"`
	} `json:"DeleteRequest,omitempty"`
}

type batchWriteItemInput struct {
	RequestItems                map[string][]writeRequest `json:"RequestItems"`
	ReturnConsumedCapacity      string                    `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics string                    `json:"ReturnItemCollectionMetrics"`
}

// transactTarget is one transaction action's parameters. The four kinds
// share one shape: Put gives an Item, the others a Key, and only Update
// an UpdateExpression.
type transactTarget struct {
	expressionInputs
	TableName                           string    `json:"TableName"`
	Key                                 attr.Item `json:"Key"`
	Item                                attr.Item `json:"Item"`
	UpdateExpression                    *string   `json:"UpdateExpression"`
	ConditionExpression                 *string   `json:"ConditionExpression"`
	ReturnValuesOnConditionCheckFailure string    `json:"ReturnValuesOnConditionCheckFailure"`
}

type transactAction struct {
	ConditionCheck *transactTarget `json:"ConditionCheck"`
	Put            *transactTarget `json:"Put"`
	Delete         *transactTarget `json:"Delete"`
	Update         *transactTarget `json:"Update"`
}

type transactWriteItemsInput struct {
	TransactItems               []transactAction `json:"TransactItems"`
	ClientRequestToken          *string          `json:"ClientRequestToken"`
	ReturnConsumedCapacity      string           `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics string           `json:"ReturnItemCollectionMetrics"`
}

type transactGetItemsInput struct {
	TransactItems []struct {
		Get *struct {
			expressionInputs
			TableName            string    `json:"TableName"`
			Key                  attr.Item `json:"Key"`
			ProjectionExpression *string   `json:"ProjectionExpression"`
		} `json:"Get"`
	} `json:"TransactItems"`
	ReturnConsumedCapacity string `json:"ReturnConsumedCapacity"`
}
