// Settings of a deployment: read from CDK context (-c key=value or
// cdk.json) and CDK_PLATFORM, validated all at once so that one synth
// names every problem.

export type EnvironmentName = 'dev' | 'prod';
export type Platform = 'arm64' | 'amd64';
export type ServiceName = 'gateway' | 'adminapi' | 'accountant' | 'aggregator';

/** A Route 53 public hosted zone, given by id and name (no lookup: synth stays offline). */
export interface HostedZoneSettings {
  readonly id: string;
  readonly name: string;
}

/** How the load balancer serves HTTPS. */
export type HttpsSettings =
  /** Plain HTTP only (dev). */
  | { readonly kind: 'none' }
  /** A certificate created and validated through DNS in the hosted zone, which also gets the domain's record. */
  | { readonly kind: 'dns-validated'; readonly domainName: string; readonly zone: HostedZoneSettings }
  /** A certificate that exists in ACM; the zone, when given, gets the domain's record. */
  | {
      readonly kind: 'imported';
      readonly domainName: string;
      readonly certificateArn: string;
      readonly zone?: HostedZoneSettings;
    };

/** Size and scaling range of one ECS service. */
export interface ServiceSize {
  /** Fargate CPU units (256 = 1/4 vCPU). */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly minTasks: number;
  readonly maxTasks: number;
}

export interface Settings {
  readonly environment: EnvironmentName;
  /** The region deployed to (CDK_DEFAULT_REGION, which the CDK CLI sets from the AWS profile). */
  readonly region: string;
  /** The two zones of the VPC. */
  readonly availabilityZones: readonly string[];
  /** CPU architecture of the image and the Fargate tasks. */
  readonly platform: Platform;
  /** Prefix of every named resource: "openai-convertor-dev". */
  readonly name: string;
  /** Prefix of the stack names: "OpenAIConvertor-dev". */
  readonly stackPrefix: string;
  readonly https: HttpsSettings;
  /** Bedrock model ids, inference-profile ids or ARNs the gateway may invoke besides the built-in routes'. */
  readonly bedrockModels: readonly string[];
  /** Prefix of the Cognito hosted UI domain; undefined means "<name>-<account id>". */
  readonly cognitoDomainPrefix?: string;
  /** Where alarm notifications are mailed, if anywhere. */
  readonly alarmEmail?: string;
  readonly natGateways: number;
  readonly redis: { readonly nodeType: string; readonly nodes: number };
  readonly services: Readonly<Record<ServiceName, ServiceSize>>;
  readonly logRetentionDays: number;
  /** Keep tables, the user pool and secrets when the stacks are deleted, and protect them from deletion. */
  readonly retainData: boolean;
  readonly containerInsights: boolean;
  /** Problems that do not stop a synth, such as a dev deployment without HTTPS. */
  readonly warnings: readonly string[];
}

/** SettingsError lists every problem of the settings. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** The context keys this app reads; any other key without a ':' is a typo. */
export const contextKeys = [
  'environment',
  'platform',
  'domainName',
  'hostedZoneId',
  'hostedZoneName',
  'certificateArn',
  'bedrockModels',
  'cognitoDomainPrefix',
  'alarmEmail',
  'availabilityZones',
] as const;

const environments: Record<EnvironmentName, Omit<Settings, 'environment' | 'region' | 'availabilityZones' | 'platform' | 'name' | 'stackPrefix' | 'https' | 'bedrockModels' | 'cognitoDomainPrefix' | 'alarmEmail' | 'warnings'>> = {
  // dev: one of everything, cheap to leave running, easy to delete.
  dev: {
    natGateways: 1,
    redis: { nodeType: 'cache.t4g.micro', nodes: 1 },
    services: {
      gateway: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 4 },
      adminapi: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 1 },
      accountant: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 2 },
      aggregator: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 2 },
    },
    logRetentionDays: 30,
    retainData: false,
    containerInsights: false,
  },
  // prod: two of what serves requests, in two zones, data kept.
  prod: {
    natGateways: 2,
    redis: { nodeType: 'cache.t4g.small', nodes: 2 },
    services: {
      gateway: { cpu: 1024, memoryMiB: 2048, minTasks: 2, maxTasks: 20 },
      adminapi: { cpu: 256, memoryMiB: 512, minTasks: 2, maxTasks: 2 },
      accountant: { cpu: 512, memoryMiB: 1024, minTasks: 1, maxTasks: 4 },
      aggregator: { cpu: 256, memoryMiB: 512, minTasks: 1, maxTasks: 4 },
    },
    logRetentionDays: 365,
    retainData: true,
    containerInsights: true,
  },
};

const domainRE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const zoneIdRE = /^Z[A-Z0-9]{1,31}$/;
const certificateArnRE = /^arn:aws(?:-[a-z]+)*:acm:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const modelIdRE = /^[a-z0-9-]+\.[A-Za-z0-9._:-]+$/;
const modelArnRE = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:\d{0,12}:(?:foundation-model|inference-profile|application-inference-profile)\/[A-Za-z0-9._:-]+$/;
const cognitoPrefixRE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const regionRE = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
const emailRE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * loadSettings reads the settings from the app's context and the process
 * environment (CDK_PLATFORM), and throws a SettingsError naming every
 * problem.
 */
export function loadSettings(context: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): Settings {
  const problems: string[] = [];
  const warnings: string[] = [];
  const str = (key: (typeof contextKeys)[number]): string | undefined => {
    const v = context[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      problems.push(`${key}: want a string, have ${JSON.stringify(v)}`);
      return undefined;
    }
    const t = v.trim();
    return t === '' ? undefined : t;
  };

  for (const key of Object.keys(context)) {
    // CDK's own keys carry a ':' (feature flags "@aws-cdk/...:...",
    // "aws:cdk:..."); anything else must be one of ours.
    if (!key.includes(':') && !(contextKeys as readonly string[]).includes(key)) {
      problems.push(`unknown setting ${JSON.stringify(key)}; the settings are ${contextKeys.join(', ')}`);
    }
  }

  const envName = str('environment');
  let environment: EnvironmentName = 'dev';
  if (envName === undefined) {
    problems.push('environment is not set; deploy with -c environment=dev or -c environment=prod');
  } else if (envName === 'dev' || envName === 'prod') {
    environment = envName;
  } else {
    problems.push(`environment: ${JSON.stringify(envName)} is not an environment; use -c environment=dev or -c environment=prod`);
  }

  const region = (env.CDK_DEFAULT_REGION ?? '').trim();
  if (region === '') {
    problems.push('the region is unknown: run cdk with an AWS profile or AWS_REGION set (the CLI passes it as CDK_DEFAULT_REGION)');
  } else if (!regionRE.test(region)) {
    problems.push(`CDK_DEFAULT_REGION: ${JSON.stringify(region)} is not a region such as us-east-1`);
  }
  // Zones are named, not looked up, so that synth needs no AWS access.
  // Zone letters differ between accounts in a few regions (us-west-1,
  // ap-northeast-1): there, give the two your account has.
  let availabilityZones = listSetting(context.availabilityZones, 'availabilityZones', problems);
  if (availabilityZones.length === 0 && regionRE.test(region)) availabilityZones = [`${region}a`, `${region}b`];
  if (availabilityZones.length !== 2) {
    problems.push(`availabilityZones: want two zones, such as ${region || 'us-east-1'}a,${region || 'us-east-1'}b; have ${JSON.stringify(availabilityZones)}`);
  }
  for (const az of availabilityZones) {
    if (!az.startsWith(region) || !/^[a-z]$/.test(az.slice(region.length))) {
      problems.push(`availabilityZones: ${JSON.stringify(az)} is not a zone of ${region || 'the region'} (${region || 'us-east-1'}a, ${region || 'us-east-1'}b...)`);
    }
  }

  const platformValue = (env.CDK_PLATFORM ?? '').trim() || str('platform') || 'arm64';
  let platform: Platform = 'arm64';
  if (platformValue === 'arm64' || platformValue === 'amd64') {
    platform = platformValue;
  } else {
    problems.push(`CDK_PLATFORM: ${JSON.stringify(platformValue)} is not a platform; use arm64 (Graviton, cheaper) or amd64`);
  }

  const https = httpsSettings(environment, str, problems, warnings);

  const bedrockModels = listSetting(context.bedrockModels, 'bedrockModels', problems);
  for (const id of bedrockModels) {
    if (!modelIdRE.test(id) && !modelArnRE.test(id)) {
      problems.push(
        `bedrockModels: ${JSON.stringify(id)} is not a Bedrock model id (anthropic.claude-…), inference-profile id (us.anthropic.claude-…) or model / inference-profile ARN`,
      );
    }
  }

  const cognitoDomainPrefix = str('cognitoDomainPrefix');
  if (cognitoDomainPrefix !== undefined && (!cognitoPrefixRE.test(cognitoDomainPrefix) || /aws|amazon|cognito/.test(cognitoDomainPrefix))) {
    problems.push(
      `cognitoDomainPrefix: ${JSON.stringify(cognitoDomainPrefix)} must be 1 to 63 lowercase letters, digits and inner hyphens, without "aws", "amazon" or "cognito"`,
    );
  }

  const alarmEmail = str('alarmEmail');
  if (alarmEmail !== undefined && !emailRE.test(alarmEmail)) {
    problems.push(`alarmEmail: ${JSON.stringify(alarmEmail)} is not an email address`);
  }

  if (problems.length > 0) {
    throw new SettingsError(problems);
  }
  return {
    environment,
    region,
    availabilityZones,
    platform,
    name: `openai-convertor-${environment}`,
    stackPrefix: `OpenAIConvertor-${environment}`,
    https,
    bedrockModels,
    cognitoDomainPrefix,
    alarmEmail,
    ...environments[environment],
    warnings,
  };
}

function httpsSettings(
  environment: EnvironmentName,
  str: (key: (typeof contextKeys)[number]) => string | undefined,
  problems: string[],
  warnings: string[],
): HttpsSettings {
  const domainName = str('domainName')?.toLowerCase().replace(/\.$/, '');
  const zoneId = str('hostedZoneId');
  const zoneName = str('hostedZoneName')?.toLowerCase().replace(/\.$/, '');
  const certificateArn = str('certificateArn');
  const before = problems.length;

  if (domainName !== undefined && !domainRE.test(domainName)) {
    problems.push(`domainName: ${JSON.stringify(domainName)} is not a domain name such as api.example.com`);
  }
  if (zoneId !== undefined && !zoneIdRE.test(zoneId)) {
    problems.push(`hostedZoneId: ${JSON.stringify(zoneId)} is not a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ`);
  }
  if (zoneName !== undefined && !domainRE.test(zoneName)) {
    problems.push(`hostedZoneName: ${JSON.stringify(zoneName)} is not a domain name such as example.com`);
  }
  if (certificateArn !== undefined && !certificateArnRE.test(certificateArn)) {
    problems.push(
      `certificateArn: ${JSON.stringify(certificateArn)} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)`,
    );
  }
  if ((zoneId === undefined) !== (zoneName === undefined)) {
    problems.push('hostedZoneId and hostedZoneName go together: give both, or neither');
  }
  if (zoneId !== undefined && domainName === undefined) {
    problems.push('hostedZoneId needs domainName: the name in the zone the API is served at, such as api.example.com');
  }
  if (certificateArn !== undefined && domainName === undefined) {
    problems.push('certificateArn needs domainName: the name the certificate is for, which clients and the sign-in pages use');
  }
  if (domainName !== undefined && zoneName !== undefined && domainName !== zoneName && !domainName.endsWith(`.${zoneName}`)) {
    problems.push(`domainName ${domainName} is not in hostedZoneName ${zoneName}`);
  }
  if (domainName !== undefined && zoneId === undefined && certificateArn === undefined) {
    problems.push(
      'domainName needs a certificate: give hostedZoneId and hostedZoneName (a DNS-validated certificate is created) or certificateArn (an existing ACM certificate)',
    );
  }
  if (problems.length > before) {
    return { kind: 'none' };
  }

  const zone = zoneId !== undefined && zoneName !== undefined ? { id: zoneId, name: zoneName } : undefined;
  if (certificateArn !== undefined && domainName !== undefined) {
    return { kind: 'imported', domainName, certificateArn, zone };
  }
  if (zone !== undefined && domainName !== undefined) {
    return { kind: 'dns-validated', domainName, zone };
  }
  if (environment === 'prod') {
    problems.push(
      'prod needs HTTPS: give domainName with hostedZoneId and hostedZoneName (a DNS-validated certificate is created), or domainName with certificateArn',
    );
  } else {
    warnings.push(
      'no certificate: the load balancer serves plain HTTP, so API keys and admin tokens cross the internet unencrypted, and the admin portal cannot sign in through Cognito (whose callbacks must be https). Give domainName with hostedZoneId and hostedZoneName, or with certificateArn',
    );
  }
  return { kind: 'none' };
}

/** listSetting reads a list given as a JSON array (cdk.json) or a comma-separated string (-c). */
function listSetting(v: unknown, key: string, problems: string[]): string[] {
  if (v === undefined || v === null) return [];
  let items: unknown[];
  if (Array.isArray(v)) {
    items = v;
  } else if (typeof v === 'string') {
    items = v.split(',');
  } else {
    problems.push(`${key}: want a comma-separated string or a list of strings, have ${JSON.stringify(v)}`);
    return [];
  }
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      problems.push(`${key}: want strings, have ${JSON.stringify(item)}`);
      continue;
    }
    const t = item.trim();
    if (t !== '' && !out.includes(t)) out.push(t);
  }
  return out;
}
