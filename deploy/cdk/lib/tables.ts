// The DynamoDB tables, built from tables.json: the output of
// `convertor tables definitions --json`, i.e. the very definitions the Go
// code creates locally and queries (internal/dynamo/tables.go). A Go test
// fails when the committed copy is stale.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface IndexSpec {
  readonly name: string;
  readonly partition_key: KeyAttribute;
  readonly sort_key?: KeyAttribute;
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly non_key_attributes?: string[];
}

export interface TableSpec {
  /** The DYNAMODB_*_TABLE variable the services read the name from. */
  readonly variable: string;
  /** The default name, "openai-convertor-api-keys". */
  readonly name: string;
  readonly partition_key: KeyAttribute;
  readonly sort_key?: KeyAttribute;
  readonly billing_mode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  readonly ttl_attribute?: string;
  readonly global_secondary_indexes?: IndexSpec[];
}

/** The table variables, one per table. */
export type TableVariable =
  | 'DYNAMODB_API_KEYS_TABLE'
  | 'DYNAMODB_USAGE_TABLE'
  | 'DYNAMODB_USAGE_STATS_TABLE'
  | 'DYNAMODB_MODEL_PRICING_TABLE'
  | 'DYNAMODB_MODEL_MAPPING_TABLE'
  | 'DYNAMODB_AUDIT_TABLE';

export const tableVariables: readonly TableVariable[] = [
  'DYNAMODB_API_KEYS_TABLE',
  'DYNAMODB_USAGE_TABLE',
  'DYNAMODB_USAGE_STATS_TABLE',
  'DYNAMODB_MODEL_PRICING_TABLE',
  'DYNAMODB_MODEL_MAPPING_TABLE',
  'DYNAMODB_AUDIT_TABLE',
];

/** The default table names share this prefix; a deployment puts its own name in its place. */
const defaultPrefix = 'openai-convertor-';

export const tablesFile = path.join(__dirname, '..', 'tables.json');

/** readTableSpecs reads and checks tables.json. */
export function readTableSpecs(file = tablesFile): TableSpec[] {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { tables?: unknown };
  if (!Array.isArray(doc.tables)) {
    throw new Error(`${file}: no "tables" list; regenerate it: go test ./cmd/convertor -run CDKCopy -update`);
  }
  const specs = doc.tables as TableSpec[];
  const problems: string[] = [];
  for (const s of specs) {
    if (!(tableVariables as readonly string[]).includes(s.variable)) {
      problems.push(`table ${s.name}: variable ${s.variable} is not one the services read (${tableVariables.join(', ')})`);
    }
    if (!s.name?.startsWith(defaultPrefix)) {
      problems.push(`table ${s.name}: the default name does not start with ${defaultPrefix}`);
    }
    if (s.billing_mode !== 'PAY_PER_REQUEST') {
      problems.push(`table ${s.name}: billing mode ${s.billing_mode}; this app deploys on-demand tables only`);
    }
  }
  for (const v of tableVariables) {
    if (!specs.some((s) => s.variable === v)) problems.push(`${file}: no table for ${v}`);
  }
  if (problems.length > 0) {
    throw new Error(`${file}:\n  ${problems.join('\n  ')}`);
  }
  return specs;
}

export interface TablesProps {
  /** Prefix of the table names: "openai-convertor-dev". */
  readonly name: string;
  /** Keep the tables when the stack is deleted, with deletion protection on. */
  readonly retain: boolean;
  readonly specs?: TableSpec[];
}

/** Tables creates every table of tables.json, on demand, with point-in-time recovery. */
export class Tables extends Construct {
  /** The tables by the variable that names them. */
  readonly byVariable: Readonly<Record<TableVariable, dynamodb.Table>>;
  private readonly indexes: Partial<Record<TableVariable, string[]>> = {};

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const byVariable: Partial<Record<TableVariable, dynamodb.Table>> = {};
    for (const spec of props.specs ?? readTableSpecs()) {
      const suffix = spec.name.slice(defaultPrefix.length);
      const table = new dynamodb.Table(this, constructId(suffix), {
        tableName: `${props.name}-${suffix}`,
        partitionKey: attribute(spec.partition_key),
        sortKey: spec.sort_key && attribute(spec.sort_key),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: spec.ttl_attribute,
        deletionProtection: props.retain,
        removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      for (const ix of spec.global_secondary_indexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: ix.name,
          partitionKey: attribute(ix.partition_key),
          sortKey: ix.sort_key && attribute(ix.sort_key),
          projectionType: dynamodb.ProjectionType[ix.projection],
          nonKeyAttributes: ix.projection === 'INCLUDE' ? ix.non_key_attributes : undefined,
        });
      }
      byVariable[spec.variable as TableVariable] = table;
      this.indexes[spec.variable as TableVariable] = (spec.global_secondary_indexes ?? []).map((ix) => ix.name);
    }
    this.byVariable = byVariable as Record<TableVariable, dynamodb.Table>;
  }

  /** withIndexes returns the ARNs of a table and of each of its indexes, named: a grant covers no index added later. */
  withIndexes(v: TableVariable): string[] {
    const arn = this.byVariable[v].tableArn;
    return [arn, ...(this.indexes[v] ?? []).map((ix) => `${arn}/index/${ix}`)];
  }
}

function attribute(a: KeyAttribute): dynamodb.Attribute {
  const types = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY };
  return { name: a.name, type: types[a.type] };
}

/** constructId turns "usage-stats" into "UsageStats". */
function constructId(suffix: string): string {
  return suffix
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
