import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Settings } from './settings';
import { TableSpec, Tables } from './tables';

/**
 * Limits of the usage-event bus, as the events package uses them
 * (events/config.go).
 */
export const events = {
  /** events.DefaultMaxDeliver: receives of a message before SQS moves it to the dead-letter queue. */
  maxDeliver: 20,
  /** events.DefaultSQSVisibilityTimeout (the ack wait): how long a consumer may hold a message. */
  visibilityTimeout: Duration.seconds(30),
};

/** The Redis port; the security group opens only it. */
export const redisPort = 6379;

export interface DataStackProps extends StackProps {
  readonly settings: Settings;
  readonly vpc: ec2.IVpc;
  /** Table definitions; tables.json when absent. */
  readonly tableSpecs?: TableSpec[];
}

/**
 * DataStack holds what outlives a deployment of the services: the tables,
 * the usage queues, Redis, the secrets and the admins' user pool.
 */
export class DataStack extends Stack {
  readonly tables: Tables;
  /** The queue of usage events (SQS_QUEUE_URL) and its dead-letter queue (SQS_DLQ_URL). */
  readonly usageQueue: sqs.Queue;
  readonly usageDeadLetterQueue: sqs.Queue;
  /**
   * The queue of priced records from the accountant to the aggregator and
   * its dead-letter queue. The services find them by name: the event
   * queues' URLs with "-priced" appended (events.PricedConfig).
   */
  readonly pricedQueue: sqs.Queue;
  readonly pricedDeadLetterQueue: sqs.Queue;
  readonly redisSecurityGroup: ec2.SecurityGroup;
  /** REDIS_URL: rediss://:<auth token>@<primary endpoint>:6379. */
  readonly redisUrlSecret: secretsmanager.Secret;
  /** MASTER_API_KEY. */
  readonly masterApiKey: secretsmanager.Secret;
  readonly userPool: cognito.UserPool;
  readonly portalClient: cognito.UserPoolClient;
  readonly userPoolDomain: cognito.UserPoolDomain;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const removalPolicy = s.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.tables = new Tables(this, 'Tables', { name: s.name, retain: s.retainData, specs: props.tableSpecs });

    // The accountant's and aggregator's queues. Retention is SQS's
    // longest, so consumers stopped for days lose nothing.
    const queue = (cid: string, queueName: string, deadLetterQueue?: sqs.IQueue) =>
      new sqs.Queue(this, cid, {
        queueName,
        visibilityTimeout: events.visibilityTimeout,
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: deadLetterQueue && { queue: deadLetterQueue, maxReceiveCount: events.maxDeliver },
        removalPolicy,
      });
    this.usageDeadLetterQueue = queue('UsageDeadLetterQueue', `${s.name}-usage-dlq`);
    this.usageQueue = queue('UsageQueue', `${s.name}-usage`, this.usageDeadLetterQueue);
    this.pricedDeadLetterQueue = queue('PricedDeadLetterQueue', `${s.name}-usage-dlq-priced`);
    this.pricedQueue = queue('PricedQueue', `${s.name}-usage-priced`, this.pricedDeadLetterQueue);

    this.masterApiKey = new secretsmanager.Secret(this, 'MasterApiKey', {
      secretName: `${s.name}/master-api-key`,
      description: 'MASTER_API_KEY: the operator key of the OpenAI-compatible API',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });

    ({ securityGroup: this.redisSecurityGroup, urlSecret: this.redisUrlSecret } = this.redis(props.vpc, s, removalPolicy));
    ({ userPool: this.userPool, client: this.portalClient, domain: this.userPoolDomain } = this.cognito(s, removalPolicy));

    Validations.of(this.masterApiKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Not rotated on a schedule: every client of the operator key would be locked out at each rotation. Rotate it by hand (README, "Deploy to AWS"); per-client keys are rotated through the admin API.',
    });
    Validations.of(this.redisUrlSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Derived from the Redis AUTH token (see that secret); it changes when the token does.',
    });

    new CfnOutput(this, 'MasterApiKeySecretArn', { value: this.masterApiKey.secretArn });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'PortalClientId', { value: this.portalClient.userPoolClientId });
    new CfnOutput(this, 'HostedUiUrl', { value: this.userPoolDomain.baseUrl() });
    new CfnOutput(this, 'UsageQueueUrl', { value: this.usageQueue.queueUrl });
    for (const [variable, table] of Object.entries(this.tables.byVariable)) {
      new CfnOutput(this, variable.replace(/_/g, ''), { description: variable, value: table.tableName });
    }
  }

  /**
   * redis is the rate limiter's and the thinking cache's store: Redis with
   * TLS and an AUTH token, reachable only from the security groups the
   * services stack admits.
   */
  private redis(vpc: ec2.IVpc, s: Settings, removalPolicy: RemovalPolicy) {
    const securityGroup = new ec2.SecurityGroup(this, 'RedisSecurityGroup', {
      vpc,
      description: 'Redis: reachable from the gateway only',
      allowAllOutbound: false,
    });
    const subnets = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: `${s.name} Redis`,
      subnetIds: vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const authToken = new secretsmanager.Secret(this, 'RedisAuthToken', {
      secretName: `${s.name}/redis-auth-token`,
      description: 'ElastiCache AUTH token of the rate limiter\'s Redis',
      // ElastiCache takes 16 to 128 printable characters; letters and
      // digits need no escaping inside a URL.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    const multiAz = s.redis.nodes > 1;
    const group = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: `${s.name} rate limits and thinking cache`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: s.redis.nodeType,
      numCacheClusters: s.redis.nodes,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port: redisPort,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [securityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: authToken.secretValue.unsafeUnwrap(),
      // Rate-limit windows and cached thinking blocks are short-lived:
      // nothing to back up.
      snapshotRetentionLimit: 0,
    });
    group.applyRemovalPolicy(RemovalPolicy.DESTROY);
    // The URL holds a dynamic reference to the token, resolved by
    // CloudFormation: the template never contains the token itself.
    const urlSecret = new secretsmanager.Secret(this, 'RedisUrl', {
      secretName: `${s.name}/redis-url`,
      description: 'REDIS_URL of the gateway',
      secretStringValue: SecretValue.unsafePlainText(
        Fn.join('', ['rediss://:', authToken.secretValue.unsafeUnwrap(), '@', group.attrPrimaryEndPointAddress, ':', group.attrPrimaryEndPointPort]),
      ),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An ElastiCache AUTH token changes through ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE), which a Secrets Manager rotation function cannot do; the token never leaves the VPC and Redis is reachable from the gateway only.',
    });
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason: 'The default port: the security group, which admits the gateway only, keeps Redis private, not the port number.',
    });
    if (!multiAz) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason:
          'dev runs one node to save cost; losing it resets rate-limit windows and cached thinking blocks, which the gateway survives (it fails open by default). prod runs two nodes in two zones.',
      });
    }
    return { securityGroup, urlSecret };
  }

  /**
   * cognito is the admins' user pool: no self sign-up, TOTP required, the
   * groups the admin API reads (admin writes, viewer reads) and the app
   * client the portal signs in with (authorization code with PKCE).
   */
  private cognito(s: Settings, removalPolicy: RemovalPolicy) {
    const userPool = new cognito.UserPool(this, 'Admins', {
      userPoolName: `${s.name}-admins`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: s.retainData,
      removalPolicy,
    });
    new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
      userPoolId: userPool.userPoolId,
      groupName: 'admin',
      description: 'reads and changes keys, routes and prices',
    });
    new cognito.CfnUserPoolGroup(this, 'ViewerGroup', {
      userPoolId: userPool.userPoolId,
      groupName: 'viewer',
      description: 'reads keys, routes, prices, usage and the audit log',
    });

    // Where the portal is served. It signs in with the authorization code
    // and PKCE, asking Cognito to send the code to /admin/callback (its
    // redirect_uri, which Cognito matches exactly), and signs out back to
    // /admin/.
    const portals: string[] = [];
    if (s.https.kind !== 'none') portals.push(`https://${s.https.domainName}/admin/`);
    // A developer may run the portal locally (convertor adminapi on
    // :8005 with ADMIN_AUTH=cognito) against the dev pool.
    if (s.environment === 'dev') portals.push('http://localhost:8005/admin/');
    const client = userPool.addClient('Portal', {
      userPoolClientName: `${s.name}-portal`,
      // A browser app keeps no secret; PKCE protects the code exchange.
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: portals.map((p) => `${p}callback`),
        logoutUrls: portals,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    const domain = userPool.addDomain('HostedUi', {
      cognitoDomain: { domainPrefix: s.cognitoDomainPrefix ?? `${s.name}-${Aws.ACCOUNT_ID}` },
    });
    Validations.of(userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'Essentials, not Plus: threat protection is charged per active user, and the pool holds a handful of invited admins, allows no self sign-up, requires 14-character passwords and TOTP.',
    });
    return { userPool, client, domain };
  }
}
