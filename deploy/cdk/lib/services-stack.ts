import * as path from 'node:path';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { bedrockResources, bedrockStatements, readRoutes, RoutesDoc } from './bedrock';
import { DataStack, redisPort } from './data-stack';
import { Monitoring } from './monitoring';
import { ServiceName, Settings } from './settings';
import { TableVariable } from './tables';

/** The repository root: the image's build context. */
export const repoRoot = path.join(__dirname, '..', '..', '..');

/** Ports the services listen on (GATEWAY_ADDR, ADMIN_ADDR and the workers' metrics addresses, at their defaults). */
export const ports = { gateway: 8000, adminapi: 8005, accountant: 8006, aggregator: 8007 } as const;

/** Where the gateway spools usage events while SQS is unreachable; the image declares it a volume owned by the service's user. */
const spoolDir = '/var/lib/convertor/spool';

/**
 * How long a gateway task keeps serving its open requests after it leaves
 * the load balancer, before it is stopped: streams get two minutes to
 * finish, then SHUTDOWN_TIMEOUT (25 s) and the usage drain (10 s).
 */
const gatewayDrain = Duration.seconds(120);

/**
 * The load balancer's idle timeout: longer than the gateway's upstream
 * timeout (GATEWAY_UPSTREAM_TIMEOUT, 5 minutes), so a long stream or a
 * slow non-streamed answer is ended by the gateway with an OpenAI error,
 * never cut by the load balancer.
 */
export const albIdleTimeout = Duration.seconds(600);

export interface ServicesStackProps extends StackProps {
  readonly settings: Settings;
  readonly vpc: ec2.IVpc;
  readonly data: DataStack;
  /** The services' image; built from deploy/Dockerfile for settings.platform when absent. */
  readonly image?: ecs.ContainerImage;
  /** The built-in routes; routes.json when absent. */
  readonly routes?: RoutesDoc;
}

/** A service of the stack and what monitoring needs of it. */
export interface RunningService {
  readonly name: ServiceName;
  readonly service: ecs.FargateService;
  readonly logGroup: logs.LogGroup;
  readonly taskRole: iam.Role;
}

/**
 * ServicesStack runs the four services of the one image on ECS Fargate,
 * the gateway and the admin API behind an Application Load Balancer, each
 * with a role allowed only what it touches, and their alarms and
 * dashboard.
 */
export class ServicesStack extends Stack {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly services: Readonly<Record<ServiceName, RunningService>>;
  readonly gatewayTargetGroup: elbv2.ApplicationTargetGroup;
  readonly adminTargetGroup: elbv2.ApplicationTargetGroup;
  /** The public URL: https://<domain>, or http://<load balancer> without a certificate. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ServicesStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const data = props.data;
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(repoRoot, {
        file: 'deploy/Dockerfile',
        platform: s.platform === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      });

    const cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: s.name,
      vpc: props.vpc,
      containerInsightsV2: s.containerInsights ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
    });
    if (!s.containerInsights) {
      Validations.of(cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason: 'dev leaves Container Insights off to save its per-metric charge; the dashboard uses the free ECS and ALB metrics. prod turns it on.',
      });
    }

    const tables = data.tables.byVariable;
    const tableEnv: Record<string, string> = {};
    for (const [variable, table] of Object.entries(tables)) tableEnv[variable] = table.tableName;
    const common: Record<string, string> = {
      AWS_REGION: Aws.REGION,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...tableEnv,
    };
    const queues = {
      SQS_QUEUE_URL: data.usageQueue.queueUrl,
      SQS_DLQ_URL: data.usageDeadLetterQueue.queueUrl,
    };

    const factory = new ServiceFactory(this, { settings: s, cluster, image });

    // The gateway.
    const gateway = factory.service('gateway', {
      environment: {
        ...common,
        ...queues,
        GATEWAY_ADDR: `:${ports.gateway}`,
        KEY_STORE: 'dynamodb',
        REQUIRE_API_KEY: 'true',
        USAGE_SPOOL_DIR: spoolDir,
      },
      secrets: {
        MASTER_API_KEY: ecs.Secret.fromSecretsManager(data.masterApiKey),
        REDIS_URL: ecs.Secret.fromSecretsManager(data.redisUrlSecret),
      },
      healthPath: '/health',
      stopTimeout: Duration.seconds(60),
      spool: true,
    });
    const routes = props.routes ?? readRoutes();
    const bedrock = bedrockResources(
      [...routes.routes.map((r) => r.bedrock_model_id), ...s.bedrockModels],
      routes.inference_profile_geographies,
    );
    for (const st of bedrockStatements(bedrock)) gateway.taskRole.addToPolicy(st);
    for (const arn of bedrock.routedModels.filter((a) => a.includes(':*:'))) {
      Validations.of(gateway.taskRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arn.replace(Aws.PARTITION, '<AWS::Partition>')}]`,
        reason:
          'A cross-region inference profile serves each request from the model in one of several regions, chosen by Bedrock, and IAM checks the model in that region: the region is a wildcard, the model is named, and the statement holds only through the listed inference profiles (condition bedrock:InferenceProfileArn).',
      });
    }
    allow(gateway.taskRole, 'ReadKeysWriteLastUsed', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tables.DYNAMODB_API_KEYS_TABLE.tableArn]);
    allow(gateway.taskRole, 'ReadMonthSpend', ['dynamodb:GetItem'], [tables.DYNAMODB_USAGE_STATS_TABLE.tableArn]);
    allow(gateway.taskRole, 'ReadRoutes', ['dynamodb:Scan'], [tables.DYNAMODB_MODEL_MAPPING_TABLE.tableArn]);
    allowPublish(gateway.taskRole, 'EmitUsage', data.usageQueue, data.usageDeadLetterQueue);
    new ec2.CfnSecurityGroupIngress(this, 'RedisFromGateway', {
      groupId: data.redisSecurityGroup.securityGroupId,
      sourceSecurityGroupId: gateway.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: redisPort,
      toPort: redisPort,
      description: 'gateway to Redis',
    });

    // The admin API: keys, routes, prices, usage views and the audit log;
    // no Bedrock, no queues.
    const adminapi = factory.service('adminapi', {
      environment: {
        ...common,
        ADMIN_ADDR: `:${ports.adminapi}`,
        ADMIN_AUTH: 'cognito',
        ADMIN_COGNITO_USER_POOL_ID: data.userPool.userPoolId,
        ADMIN_COGNITO_CLIENT_IDS: data.portalClient.userPoolClientId,
      },
      healthPath: '/health',
    });
    const withIndexes = (v: TableVariable) => data.tables.withIndexes(v);
    allow(
      adminapi.taskRole,
      'ManageKeys',
      ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      [tables.DYNAMODB_API_KEYS_TABLE.tableArn],
    );
    allow(
      adminapi.taskRole,
      'ManageRoutes',
      ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      [tables.DYNAMODB_MODEL_MAPPING_TABLE.tableArn],
    );
    allow(adminapi.taskRole, 'ManagePrices', ['dynamodb:Scan', 'dynamodb:PutItem'], [tables.DYNAMODB_MODEL_PRICING_TABLE.tableArn]);
    allow(
      adminapi.taskRole,
      'ReadUsage',
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
      [...withIndexes('DYNAMODB_USAGE_TABLE'), ...withIndexes('DYNAMODB_USAGE_STATS_TABLE')],
    );
    allow(adminapi.taskRole, 'Audit', ['dynamodb:PutItem', 'dynamodb:Query'], withIndexes('DYNAMODB_AUDIT_TABLE'));

    // The accountant: usage events in, priced records out.
    const accountant = factory.service('accountant', {
      environment: { ...common, ...queues, ACCOUNTANT_METRICS_ADDR: `:${ports.accountant}` },
      healthPath: '/metrics',
    });
    allow(accountant.taskRole, 'WriteUsageRecords', ['dynamodb:PutItem'], [tables.DYNAMODB_USAGE_TABLE.tableArn]);
    allow(accountant.taskRole, 'ReadAndSeedPrices', ['dynamodb:Scan', 'dynamodb:PutItem'], [tables.DYNAMODB_MODEL_PRICING_TABLE.tableArn]);
    allowConsume(accountant.taskRole, 'ConsumeUsage', data.usageQueue, data.usageDeadLetterQueue);
    allowPublish(accountant.taskRole, 'PublishPriced', data.pricedQueue, data.pricedDeadLetterQueue);

    // The aggregator: priced records in, roll-ups out.
    const aggregator = factory.service('aggregator', {
      environment: { ...common, ...queues, AGGREGATOR_METRICS_ADDR: `:${ports.aggregator}` },
      healthPath: '/metrics',
    });
    allow(
      aggregator.taskRole,
      'WriteRollups',
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      [tables.DYNAMODB_USAGE_STATS_TABLE.tableArn],
    );
    allowConsume(aggregator.taskRole, 'ConsumePriced', data.pricedQueue, data.pricedDeadLetterQueue);

    this.services = { gateway, adminapi, accountant, aggregator };

    // The load balancer.
    const lb = new LoadBalancer(this, 'LoadBalancer', { settings: s, vpc: props.vpc });
    this.loadBalancer = lb.alb;
    this.url = lb.url;
    this.gatewayTargetGroup = lb.route('Gateway', gateway, ports.gateway, gatewayDrain, 10, ['/v1', '/v1/*']);
    this.adminTargetGroup = lb.route('Admin', adminapi, ports.adminapi, Duration.seconds(30), 20, ['/admin', '/admin/*', '/api/*']);

    // Scaling: the gateway on CPU and requests per task, the workers on
    // the backlog of their queue.
    const gatewayScaling = gateway.service.autoScaleTaskCount({ minCapacity: s.services.gateway.minTasks, maxCapacity: s.services.gateway.maxTasks });
    gatewayScaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60, scaleOutCooldown: Duration.seconds(60), scaleInCooldown: Duration.seconds(300) });
    gatewayScaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: 1000,
      targetGroup: this.gatewayTargetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.seconds(300),
    });
    scaleOnBacklog(accountant, data.usageQueue, s.services.accountant);
    scaleOnBacklog(aggregator, data.pricedQueue, s.services.aggregator);

    new Monitoring(this, 'Monitoring', {
      settings: s,
      loadBalancer: this.loadBalancer,
      gatewayTargetGroup: this.gatewayTargetGroup,
      adminTargetGroup: this.adminTargetGroup,
      services: this.services,
      usageQueue: data.usageQueue,
      usageDeadLetterQueue: data.usageDeadLetterQueue,
      pricedQueue: data.pricedQueue,
      pricedDeadLetterQueue: data.pricedDeadLetterQueue,
    });

    new CfnOutput(this, 'Url', { value: this.url });
    new CfnOutput(this, 'OpenAIBaseUrl', { value: `${this.url}/v1` });
    new CfnOutput(this, 'AdminUrl', { value: `${this.url}/admin/` });
    new CfnOutput(this, 'LoadBalancerDnsName', { value: this.loadBalancer.loadBalancerDnsName });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
  }
}

interface ServiceOptions {
  readonly environment: Record<string, string>;
  readonly secrets?: Record<string, ecs.Secret>;
  /** The path its container health check GETs on its port. */
  readonly healthPath: string;
  readonly stopTimeout?: Duration;
  /** Mount a task volume at the usage spool directory. */
  readonly spool?: boolean;
}

/** ServiceFactory makes the services alike: one image, one role each, JSON logs, a health check. */
class ServiceFactory {
  constructor(
    private readonly scope: Construct,
    private readonly props: { settings: Settings; cluster: ecs.Cluster; image: ecs.ContainerImage },
  ) {}

  service(name: ServiceName, o: ServiceOptions): RunningService & { securityGroup: ec2.SecurityGroup } {
    const s = this.props.settings;
    const size = s.services[name];
    const scope = new Construct(this.scope, capitalize(name));
    const logGroup = new logs.LogGroup(scope, 'Logs', {
      logGroupName: `/${s.name}/${name}`,
      retention: s.logRetentionDays as logs.RetentionDays,
      removalPolicy: s.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const taskRole = new iam.Role(scope, 'TaskRole', {
      roleName: `${s.name}-${name}`,
      description: `${name}: what the service touches, nothing else`,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
    });
    const task = new ecs.FargateTaskDefinition(scope, 'Task', {
      family: `${s.name}-${name}`,
      cpu: size.cpu,
      memoryLimitMiB: size.memoryMiB,
      taskRole,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: s.platform === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
    });
    const port = ports[name];
    const container = task.addContainer('convertor', {
      image: this.props.image,
      command: [name],
      environment: o.environment,
      secrets: o.secrets,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: name }),
      portMappings: [{ containerPort: port, name }],
      readonlyRootFilesystem: true,
      stopTimeout: o.stopTimeout,
      healthCheck: {
        // The image is distroless: the binary probes itself.
        command: ['CMD', '/usr/local/bin/convertor', 'healthcheck', `http://127.0.0.1:${port}${o.healthPath}`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(15),
      },
    });
    if (o.spool) {
      task.addVolume({ name: 'spool' });
      container.addMountPoints({ sourceVolume: 'spool', containerPath: spoolDir, readOnly: false });
    }
    const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
      vpc: this.props.cluster.vpc,
      description: `${s.name} ${name} tasks`,
      // Tasks call AWS APIs, Bedrock and Cognito over HTTPS through NAT,
      // and Redis inside the VPC.
      allowAllOutbound: true,
    });
    const service = new ecs.FargateService(scope, 'Service', {
      serviceName: name,
      cluster: this.props.cluster,
      taskDefinition: task,
      desiredCount: size.minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      assignPublicIp: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The services read their settings from the environment by design (one config.go per service); what is set here is names, URLs and addresses. The secrets, the master API key and the Redis URL with its token, come from Secrets Manager.',
    });
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The execution role CDK creates needs ecr:GetAuthorizationToken on "*" (the action has no resource); its other grants name the image repository, the log group and the secrets.',
    });
    return { name, service, logGroup, taskRole, securityGroup };
  }
}

/** LoadBalancer is the public entry: HTTPS (or HTTP in dev without a certificate), paths routed to the services. */
class LoadBalancer extends Construct {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly url: string;
  private readonly listeners: elbv2.ApplicationListener[] = [];

  constructor(scope: Construct, id: string, props: { settings: Settings; vpc: ec2.IVpc }) {
    super(scope, id);
    const s = props.settings;
    const logs = new s3.Bucket(this, 'AccessLogs', {
      // Load balancer access logs take SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(s.logRetentionDays) }],
      removalPolicy: s.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !s.retainData,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the load balancer\'s access logs; logging access to it would log the logs.',
    });
    this.alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      loadBalancerName: s.name,
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      idleTimeout: albIdleTimeout,
      dropInvalidHeaderFields: true,
      deletionProtection: s.retainData,
    });
    this.alb.logAccessLogs(logs);
    Validations.of(this.alb).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The OpenAI-compatible API and the admin portal are public: the load balancer takes 80 and 443 from anywhere, and nothing else.',
    });

    // Unknown paths get the gateway's own 404 shape, so an OpenAI client
    // with a wrong base URL sees an OpenAI error.
    const notFound = elbv2.ListenerAction.fixedResponse(404, {
      contentType: 'application/json',
      messageBody: JSON.stringify({
        error: { message: 'Unknown path: the OpenAI API is under /v1, the admin portal under /admin/', type: 'invalid_request_error', param: null, code: 'unknown_url' },
      }),
    });
    if (s.https.kind === 'none') {
      this.listeners.push(this.alb.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, defaultAction: notFound }));
      this.url = `http://${this.alb.loadBalancerDnsName}`;
      return;
    }

    const https = s.https;
    const zone =
      https.zone &&
      route53.PublicHostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: https.zone.id, zoneName: https.zone.name });
    const certificate =
      https.kind === 'imported'
        ? acm.Certificate.fromCertificateArn(this, 'Certificate', https.certificateArn)
        : new acm.Certificate(this, 'Certificate', {
            domainName: https.domainName,
            validation: acm.CertificateValidation.fromDns(zone),
          });
    this.listeners.push(
      this.alb.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultAction: notFound,
      }),
    );
    this.alb.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
    });
    if (zone) {
      new route53.ARecord(this, 'Alias', {
        zone,
        recordName: https.domainName,
        target: route53.RecordTarget.fromAlias(new route53targets.LoadBalancerTarget(this.alb)),
      });
    }
    this.url = `https://${https.domainName}`;
  }

  /** route sends paths to a service's target group, health-checked on its /health. */
  route(id: string, svc: RunningService & { securityGroup: ec2.SecurityGroup }, port: number, drain: Duration, priority: number, paths: string[]): elbv2.ApplicationTargetGroup {
    const tg = new elbv2.ApplicationTargetGroup(this, `${id}Targets`, {
      vpc: this.alb.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: drain,
      healthCheck: { path: '/health', healthyHttpCodes: '200', interval: Duration.seconds(15), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
      targets: [svc.service.loadBalancerTarget({ containerName: 'convertor', containerPort: port })],
    });
    svc.securityGroup.connections.allowFrom(this.alb, ec2.Port.tcp(port), `load balancer to ${svc.name}`);
    for (const listener of this.listeners) {
      listener.addAction(`${id}Paths`, { priority, conditions: [elbv2.ListenerCondition.pathPatterns(paths)], action: elbv2.ListenerAction.forward([tg]) });
    }
    return tg;
  }
}

/** allow adds one statement to role. */
function allow(role: iam.Role, sid: string, actions: string[], resources: string[]): void {
  role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources }));
}

/**
 * allowPublish lets role send to queue. The events package reads the ARN
 * of the queue and of its dead-letter queue at start (GetQueueAttributes)
 * to check they exist.
 */
function allowPublish(role: iam.Role, sid: string, queue: sqs.IQueue, deadLetter: sqs.IQueue): void {
  allow(role, sid, ['sqs:SendMessage', 'sqs:GetQueueAttributes'], [queue.queueArn]);
  allow(role, `${sid}DeadLetterQueue`, ['sqs:GetQueueAttributes'], [deadLetter.queueArn]);
}

/**
 * allowConsume lets role receive from queue and move a message it cannot
 * read to the dead-letter queue (events.NewDeadLetter), which SQS also does
 * after 20 failed receives.
 */
function allowConsume(role: iam.Role, sid: string, queue: sqs.IQueue, deadLetter: sqs.IQueue): void {
  allow(role, sid, ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], [queue.queueArn]);
  allow(role, `${sid}DeadLetterQueue`, ['sqs:SendMessage', 'sqs:GetQueueAttributes'], [deadLetter.queueArn]);
}

/** scaleOnBacklog scales a worker on the messages waiting in its queue. */
function scaleOnBacklog(svc: RunningService, queue: sqs.IQueue, size: { minTasks: number; maxTasks: number }): void {
  const scaling = svc.service.autoScaleTaskCount({ minCapacity: size.minTasks, maxCapacity: size.maxTasks });
  scaling.scaleOnMetric('Backlog', {
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
    // A worker clears thousands of messages a second; a backlog that
    // stays means it cannot keep up.
    scalingSteps: [
      { upper: 100, change: -1 },
      { lower: 5000, change: +1 },
      { lower: 50000, change: +2 },
    ],
    adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    cooldown: Duration.minutes(3),
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
