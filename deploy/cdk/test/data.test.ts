import { Match } from 'aws-cdk-lib/assertions';
import { readTableSpecs } from '../lib/tables';
import { build, zoneSettings } from './helpers';

const built = build({ environment: 'prod', ...zoneSettings });
const t = built.template(built.data);

describe('tables', () => {
  const specs = readTableSpecs();

  test('one table per definition in tables.json, named for the deployment', () => {
    t.resourceCountIs('AWS::DynamoDB::Table', specs.length);
    expect(specs.map((s) => s.variable).sort()).toEqual([
      'DYNAMODB_API_KEYS_TABLE',
      'DYNAMODB_AUDIT_TABLE',
      'DYNAMODB_MODEL_MAPPING_TABLE',
      'DYNAMODB_MODEL_PRICING_TABLE',
      'DYNAMODB_USAGE_STATS_TABLE',
      'DYNAMODB_USAGE_TABLE',
    ]);
  });

  test.each(readTableSpecs().map((s) => [s.name, s] as const))('%s: keys, indexes, on demand, point-in-time recovery, TTL', (_name, spec) => {
    const key = [{ AttributeName: spec.partition_key.name, KeyType: 'HASH' }, ...(spec.sort_key ? [{ AttributeName: spec.sort_key.name, KeyType: 'RANGE' }] : [])];
    const indexes = (spec.global_secondary_indexes ?? []).map((ix) => ({
      IndexName: ix.name,
      KeySchema: [{ AttributeName: ix.partition_key.name, KeyType: 'HASH' }, ...(ix.sort_key ? [{ AttributeName: ix.sort_key.name, KeyType: 'RANGE' }] : [])],
      Projection: { ProjectionType: ix.projection },
    }));
    t.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: spec.name.replace('openai-convertor-', 'openai-convertor-prod-'),
        KeySchema: key,
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: spec.ttl_attribute ? { AttributeName: spec.ttl_attribute, Enabled: true } : Match.absent(),
        GlobalSecondaryIndexes: indexes.length > 0 ? indexes : Match.absent(),
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('usage records and stats markers expire on expires_at; by-period and the audit indexes exist', () => {
    const byName = Object.fromEntries(specs.map((s) => [s.variable, s]));
    expect(byName.DYNAMODB_USAGE_TABLE.ttl_attribute).toBe('expires_at');
    expect(byName.DYNAMODB_USAGE_STATS_TABLE.ttl_attribute).toBe('expires_at');
    expect(byName.DYNAMODB_USAGE_STATS_TABLE.global_secondary_indexes?.map((i) => i.name)).toEqual(['by-period']);
    expect(byName.DYNAMODB_AUDIT_TABLE.global_secondary_indexes?.map((i) => i.name)).toEqual(['by-time', 'by-actor', 'by-resource']);
  });

  test('dev tables are deleted with the stack', () => {
    const dev = build({ environment: 'dev' });
    dev.template(dev.data).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: { DeletionProtectionEnabled: false } });
  });
});

describe('queues', () => {
  test('usage events and priced records, each with a dead-letter queue after 20 receives', () => {
    t.resourceCountIs('AWS::SQS::Queue', 4);
    for (const [name, dlq] of [
      ['openai-convertor-prod-usage', 'openai-convertor-prod-usage-dlq'],
      // events.PricedConfig: the event queues' URLs with "-priced" appended.
      ['openai-convertor-prod-usage-priced', 'openai-convertor-prod-usage-dlq-priced'],
    ]) {
      const dlqId = Object.entries(t.findResources('AWS::SQS::Queue', { Properties: { QueueName: dlq } }))[0][0];
      t.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: name,
        VisibilityTimeout: 30,
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 20 },
      });
    }
  });
});

describe('redis', () => {
  test('TLS, encryption at rest and an AUTH token from Secrets Manager; REDIS_URL a secret', () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      MultiAZEnabled: true,
      NumCacheClusters: 2,
      AuthToken: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])]) }),
    });
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'openai-convertor-prod/redis-url',
      SecretString: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^rediss://:\\{\\{resolve:secretsmanager:')])] },
    });
  });
});

describe('cognito', () => {
  test('admin and viewer groups, TOTP required, no self sign-up', () => {
    t.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'admin' });
    t.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'viewer' });
    t.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });

  test('the portal client: authorization code without a secret, its callback and sign-out pages on the domain', () => {
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: ['https://api.example.com/admin/callback'],
      LogoutURLs: ['https://api.example.com/admin/'],
      SupportedIdentityProviders: ['COGNITO'],
    });
    t.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });

  test('the master API key is generated in Secrets Manager', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'openai-convertor-prod/master-api-key',
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
  });
});
