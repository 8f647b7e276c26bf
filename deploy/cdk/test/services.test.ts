import { Match, Template } from 'aws-cdk-lib/assertions';
import { readRoutes } from '../lib/bedrock';
import { actionsOf, build, containerEnvironment, policyStatements, zoneSettings } from './helpers';

const extraModels = ['anthropic.claude-extra-v1:0', 'eu.anthropic.claude-eu-v1:0'];
const built = build({ environment: 'prod', ...zoneSettings, bedrockModels: extraModels.join(',') });
const t = built.template(built.services);

const tableNames = {
  DYNAMODB_API_KEYS_TABLE: 'openai-convertor-prod-api-keys',
  DYNAMODB_USAGE_TABLE: 'openai-convertor-prod-usage',
  DYNAMODB_USAGE_STATS_TABLE: 'openai-convertor-prod-usage-stats',
  DYNAMODB_MODEL_PRICING_TABLE: 'openai-convertor-prod-model-pricing',
  DYNAMODB_MODEL_MAPPING_TABLE: 'openai-convertor-prod-model-mapping',
  DYNAMODB_AUDIT_TABLE: 'openai-convertor-prod-audit',
};

/** The ARN of a table or index as the services stack imports it from the data stack. */
function importedNames(value: unknown): string {
  return JSON.stringify(value);
}

describe('load balancer', () => {
  test('/v1 to the gateway; /admin and /api to the admin API; anything else a 404 in OpenAI\'s shape', () => {
    const tgs = t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup');
    const byPort = (port: number) => Object.entries(tgs).find(([, r]) => r.Properties.Port === port)![0];
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/v1', '/v1/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: byPort(8000) } }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/admin', '/admin/*', '/api/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: byPort(8005) } }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '404', ContentType: 'application/json' }) }],
    });
  });

  test('health checks: GET /health on the gateway and the admin API', () => {
    for (const port of [8000, 8005]) {
      t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        Port: port,
        TargetType: 'ip',
        HealthCheckPath: '/health',
        Matcher: { HttpCode: '200' },
      });
    }
  });

  test('an idle timeout longer than the gateway\'s 5-minute upstream timeout', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '600' }]),
    });
  });
});

describe('services', () => {
  test('one image, four services, each its own command, role and log group', () => {
    t.resourceCountIs('AWS::ECS::Service', 4);
    for (const name of ['gateway', 'adminapi', 'accountant', 'aggregator']) {
      t.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Family: `openai-convertor-prod-${name}`,
        RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        TaskRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${name.charAt(0).toUpperCase() + name.slice(1)}TaskRole`), 'Arn'] },
        ContainerDefinitions: [
          Match.objectLike({
            Image: 'openai-api-convertor:test',
            Command: [name],
            ReadonlyRootFilesystem: true,
            HealthCheck: Match.objectLike({ Command: ['CMD', '/usr/local/bin/convertor', 'healthcheck', Match.stringLikeRegexp(`^http://127\\.0\\.0\\.1:80\\d\\d/`)] }),
            LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          }),
        ],
      });
      t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/openai-convertor-prod/${name}`, RetentionInDays: 365 });
    }
  });

  test('the gateway\'s environment: exactly the variables its configuration reads', () => {
    const { env, secrets } = containerEnvironment(t, 'openai-convertor-prod-gateway');
    expect(Object.keys(env).sort()).toEqual(
      ['AWS_REGION', 'GATEWAY_ADDR', 'KEY_STORE', 'LOG_FORMAT', 'LOG_LEVEL', 'REQUIRE_API_KEY', 'SQS_DLQ_URL', 'SQS_QUEUE_URL', 'USAGE_SPOOL_DIR', ...Object.keys(tableNames)].sort(),
    );
    expect(secrets.sort()).toEqual(['MASTER_API_KEY', 'REDIS_URL']);
    expect(env).toMatchObject({ GATEWAY_ADDR: ':8000', KEY_STORE: 'dynamodb', REQUIRE_API_KEY: 'true', LOG_FORMAT: 'json', USAGE_SPOOL_DIR: '/var/lib/convertor/spool' });
    expect(importedNames(env.SQS_QUEUE_URL)).toContain('UsageQueue');
    expect(importedNames(env.SQS_DLQ_URL)).toContain('UsageDeadLetterQueue');
  });

  test('the admin API signs in with Cognito; no secrets', () => {
    const { env, secrets } = containerEnvironment(t, 'openai-convertor-prod-adminapi');
    expect(Object.keys(env).sort()).toEqual(
      ['ADMIN_ADDR', 'ADMIN_AUTH', 'ADMIN_COGNITO_CLIENT_IDS', 'ADMIN_COGNITO_USER_POOL_ID', 'AWS_REGION', 'LOG_FORMAT', 'LOG_LEVEL', ...Object.keys(tableNames)].sort(),
    );
    expect(env.ADMIN_AUTH).toBe('cognito');
    expect(secrets).toEqual([]);
  });

  test('the workers read the event queues (the priced ones follow from their names)', () => {
    for (const [name, metrics] of [
      ['accountant', 'ACCOUNTANT_METRICS_ADDR'],
      ['aggregator', 'AGGREGATOR_METRICS_ADDR'],
    ]) {
      const { env, secrets } = containerEnvironment(t, `openai-convertor-prod-${name}`);
      expect(Object.keys(env).sort()).toEqual(['AWS_REGION', 'LOG_FORMAT', 'LOG_LEVEL', metrics, 'SQS_DLQ_URL', 'SQS_QUEUE_URL', ...Object.keys(tableNames)].sort());
      expect(secrets).toEqual([]);
    }
  });

  test('table names come from the data stack', () => {
    const { env } = containerEnvironment(t, 'openai-convertor-prod-gateway');
    const data = built.data.tables.byVariable;
    for (const v of Object.keys(tableNames) as Array<keyof typeof tableNames>) {
      expect(built.data.resolve(data[v].tableName)).toBeDefined();
      expect(importedNames(env[v])).toContain('Tables');
    }
  });
});

describe('IAM', () => {
  const routes = readRoutes();
  const region = { Ref: 'AWS::Region' };
  const partition = { Ref: 'AWS::Partition' };
  const account = { Ref: 'AWS::AccountId' };
  const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });

  test('the admin API has no Bedrock and no queue permissions', () => {
    const actions = actionsOf(policyStatements(t, 'AdminapiTaskRole'));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.startsWith('bedrock:') || a.startsWith('sqs:'))).toEqual([]);
  });

  test('only the gateway may call Bedrock', () => {
    for (const role of ['AdminapiTaskRole', 'AccountantTaskRole', 'AggregatorTaskRole']) {
      expect(actionsOf(policyStatements(t, role)).filter((a) => a.startsWith('bedrock:'))).toEqual([]);
    }
  });

  test('the gateway invokes exactly the routed models and profiles', () => {
    const st = policyStatements(t, 'GatewayTaskRole').filter((s) => actionsOf([s]).some((a) => a.startsWith('bedrock:')));
    for (const s of st) expect(s.Action).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
    const bySid = Object.fromEntries(st.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual(['InvokeFoundationModels', 'InvokeInferenceProfiles', 'InvokeModelsThroughProfiles']);

    const profiles = [...routes.routes.map((r) => r.bedrock_model_id), 'eu.anthropic.claude-eu-v1:0'];
    const profileArns = profiles.map((id) => join('arn:', partition, ':bedrock:', region, ':', account, `:inference-profile/${id}`));
    expect(bySid.InvokeInferenceProfiles.Resource).toEqual(profileArns);
    expect(bySid.InvokeFoundationModels.Resource).toEqual(join('arn:', partition, ':bedrock:', region, '::foundation-model/anthropic.claude-extra-v1:0'));

    // The models behind the profiles, in any region (global ones also
    // region-less), only through those profiles.
    const routed: unknown[] = [];
    for (const id of profiles) {
      const [geo, ...rest] = id.split('.');
      const model = rest.join('.');
      routed.push(join('arn:', partition, `:bedrock:*::foundation-model/${model}`));
      if (geo === 'global') routed.push(join('arn:', partition, `:bedrock:::foundation-model/${model}`));
    }
    expect(bySid.InvokeModelsThroughProfiles.Resource).toEqual(routed);
    expect(bySid.InvokeModelsThroughProfiles.Condition).toEqual({ StringEquals: { 'bedrock:InferenceProfileArn': profileArns } });
  });

  test('the gateway reads keys, month spend and routes, writes last-used times, and sends usage', () => {
    const st = policyStatements(t, 'GatewayTaskRole').filter((s) => !actionsOf([s]).some((a) => a.startsWith('bedrock:')));
    const summary = Object.fromEntries(st.map((s) => [s.Sid, actionsOf([s])]));
    expect(summary).toEqual({
      ReadKeysWriteLastUsed: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      ReadMonthSpend: ['dynamodb:GetItem'],
      ReadRoutes: ['dynamodb:Scan'],
      EmitUsage: ['sqs:SendMessage', 'sqs:GetQueueAttributes'],
      EmitUsageDeadLetterQueue: ['sqs:GetQueueAttributes'],
    });
    expect(JSON.stringify(st.find((s) => s.Sid === 'ReadRoutes')!.Resource)).toContain('TablesModelMapping');
  });

  test('workers touch only their tables and queues; nothing may delete or scan usage', () => {
    const accountant = Object.fromEntries(policyStatements(t, 'AccountantTaskRole').map((s) => [s.Sid, actionsOf([s])]));
    expect(accountant).toEqual({
      WriteUsageRecords: ['dynamodb:PutItem'],
      ReadAndSeedPrices: ['dynamodb:Scan', 'dynamodb:PutItem'],
      ConsumeUsage: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      ConsumeUsageDeadLetterQueue: ['sqs:SendMessage', 'sqs:GetQueueAttributes'],
      PublishPriced: ['sqs:SendMessage', 'sqs:GetQueueAttributes'],
      PublishPricedDeadLetterQueue: ['sqs:GetQueueAttributes'],
    });
    const aggregator = Object.fromEntries(policyStatements(t, 'AggregatorTaskRole').map((s) => [s.Sid, actionsOf([s])]));
    expect(Object.keys(aggregator).sort()).toEqual(['ConsumePriced', 'ConsumePricedDeadLetterQueue', 'WriteRollups']);
    expect(JSON.stringify(policyStatements(t, 'AggregatorTaskRole').find((s) => s.Sid === 'WriteRollups')!.Resource)).toContain('TablesUsageStats');
    for (const role of ['GatewayTaskRole', 'AdminapiTaskRole', 'AccountantTaskRole', 'AggregatorTaskRole']) {
      expect(actionsOf(policyStatements(t, role)).filter((a) => a.endsWith('*') || a === 'dynamodb:DeleteTable')).toEqual([]);
    }
  });

  test('no statement has a resource "*" outside the execution roles', () => {
    for (const role of ['GatewayTaskRole', 'AdminapiTaskRole', 'AccountantTaskRole', 'AggregatorTaskRole']) {
      for (const s of policyStatements(t, role)) expect(s.Resource).not.toEqual('*');
    }
  });
});

describe('scaling', () => {
  test('the gateway on CPU and on requests per target', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 }),
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }) }),
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 20 });
  });

  test('the workers on the backlog of their queue', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' } });
    const queues = Object.values(alarms).map((a) => JSON.stringify(a.Properties.Dimensions));
    expect(queues.some((q) => q.includes('UsageQueue'))).toBe(true);
    expect(queues.some((q) => q.includes('PricedQueue'))).toBe(true);
    expect(Object.keys(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', { Properties: { PolicyType: 'StepScaling' } })).length).toBe(4);
  });
});

describe('alarms and dashboard', () => {
  const alarmNames = () => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string | undefined).filter((n): n is string => n !== undefined);

  test('5xx rate, p99 latency, queue age, dead letters, worker errors', () => {
    expect(alarmNames().sort()).toEqual(
      [
        'AccountantErrors',
        'AggregatorErrors',
        'Gateway5xxRate',
        'GatewayP99Latency',
        'PricedDeadLetters',
        'PricedQueueAge',
        'UsageDeadLetters',
        'UsageQueueAge',
      ].map((n) => `OpenAIConvertor-prod-Services-${n}`),
    );
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'OpenAIConvertor-prod-Services-GatewayP99Latency',
      MetricName: 'TargetResponseTime',
      ExtendedStatistic: 'p99',
      Threshold: 60,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'OpenAIConvertor-prod-Services-UsageDeadLetters',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'OpenAIConvertor-prod-Services-UsageQueueAge',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 300,
    });
  });

  test('every alarm notifies the topic', () => {
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      if (!a.Properties.AlarmName) continue; // scaling alarms act on scaling policies
      expect(JSON.stringify(a.Properties.AlarmActions)).toContain('MonitoringAlarms');
    }
  });

  test('ERROR lines of every service are counted from the JSON logs', () => {
    t.resourceCountIs('AWS::Logs::MetricFilter', 4);
    t.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.level = "ERROR" }' });
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('platform', () => {
  test('CDK_PLATFORM=amd64 runs x86-64 tasks', () => {
    const amd = build({ environment: 'dev' }, { CDK_DEFAULT_REGION: 'us-east-1', CDK_PLATFORM: 'amd64' });
    Template.fromStack(amd.services).hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'X86_64' } });
  });
});
