import { loadSettings, SettingsError } from '../lib/settings';
import { certificateArn, testEnv, zoneSettings } from './helpers';

/** problems returns the SettingsError problems of loading context, or [] when it loads. */
function problems(context: Record<string, unknown>, env: Record<string, string | undefined> = testEnv): string[] {
  try {
    loadSettings(context, env);
    return [];
  } catch (e) {
    if (e instanceof SettingsError) return [...e.problems];
    throw e;
  }
}

describe('loadSettings', () => {
  test('dev with defaults: arm64, no HTTPS, a warning', () => {
    const s = loadSettings({ environment: 'dev' }, testEnv);
    expect(s.platform).toBe('arm64');
    expect(s.https.kind).toBe('none');
    expect(s.name).toBe('openai-convertor-dev');
    expect(s.availabilityZones).toEqual(['us-east-1a', 'us-east-1b']);
    expect(s.warnings).toEqual([expect.stringContaining('no certificate: the load balancer serves plain HTTP')]);
  });

  test('CDK_PLATFORM selects the architecture', () => {
    expect(loadSettings({ environment: 'dev' }, { ...testEnv, CDK_PLATFORM: 'amd64' }).platform).toBe('amd64');
  });

  test('zone and domain: a DNS-validated certificate', () => {
    const s = loadSettings({ environment: 'prod', ...zoneSettings }, testEnv);
    expect(s.https).toEqual({ kind: 'dns-validated', domainName: 'api.example.com', zone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' } });
    expect(s.warnings).toEqual([]);
  });

  test('certificate ARN and domain: the imported certificate', () => {
    const s = loadSettings({ environment: 'prod', domainName: 'API.Example.com.', certificateArn }, testEnv);
    expect(s.https).toEqual({ kind: 'imported', domainName: 'api.example.com', certificateArn, zone: undefined });
  });

  test('bedrockModels from a comma-separated string or a list', () => {
    expect(loadSettings({ environment: 'dev', bedrockModels: 'anthropic.claude-x-v1:0, eu.anthropic.claude-y-v1:0' }, testEnv).bedrockModels).toEqual([
      'anthropic.claude-x-v1:0',
      'eu.anthropic.claude-y-v1:0',
    ]);
    expect(loadSettings({ environment: 'dev', bedrockModels: ['anthropic.claude-x-v1:0'] }, testEnv).bedrockModels).toEqual(['anthropic.claude-x-v1:0']);
  });

  test.each<[string, Record<string, unknown>, Record<string, string | undefined>, string]>([
    ['no environment', {}, testEnv, 'environment is not set; deploy with -c environment=dev or -c environment=prod'],
    ['unknown environment', { environment: 'staging' }, testEnv, 'environment: "staging" is not an environment; use -c environment=dev or -c environment=prod'],
    ['bad platform', { environment: 'dev' }, { ...testEnv, CDK_PLATFORM: 'x86' }, 'CDK_PLATFORM: "x86" is not a platform; use arm64 (Graviton, cheaper) or amd64'],
    ['no region', { environment: 'dev' }, {}, 'the region is unknown'],
    ['bad region', { environment: 'dev' }, { CDK_DEFAULT_REGION: 'virginia' }, 'CDK_DEFAULT_REGION: "virginia" is not a region'],
    ['bad domain', { environment: 'dev', domainName: 'api_example', certificateArn }, testEnv, 'domainName: "api_example" is not a domain name'],
    ['bad zone id', { environment: 'dev', ...zoneSettings, hostedZoneId: 'zone-1' }, testEnv, 'hostedZoneId: "zone-1" is not a Route 53 hosted zone id'],
    ['bad certificate ARN', { environment: 'dev', domainName: 'api.example.com', certificateArn: 'arn:aws:acm:us-east-1:123:cert/x' }, testEnv, 'certificateArn: "arn:aws:acm:us-east-1:123:cert/x" is not an ACM certificate ARN'],
    ['zone id without name', { environment: 'dev', domainName: 'api.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ' }, testEnv, 'hostedZoneId and hostedZoneName go together'],
    ['certificate without domain', { environment: 'dev', certificateArn }, testEnv, 'certificateArn needs domainName'],
    ['domain without certificate', { environment: 'dev', domainName: 'api.example.com' }, testEnv, 'domainName needs a certificate'],
    ['domain outside the zone', { environment: 'dev', ...zoneSettings, domainName: 'api.example.org' }, testEnv, 'domainName api.example.org is not in hostedZoneName example.com'],
    ['prod without a certificate', { environment: 'prod' }, testEnv, 'prod needs HTTPS'],
    ['unknown setting', { environment: 'dev', domainname: 'api.example.com' }, testEnv, 'unknown setting "domainname"'],
    ['bad model id', { environment: 'dev', bedrockModels: 'claude sonnet' }, testEnv, 'bedrockModels: "claude sonnet" is not a Bedrock model id'],
    ['bad alarm email', { environment: 'dev', alarmEmail: 'ops' }, testEnv, 'alarmEmail: "ops" is not an email address'],
    ['bad Cognito prefix', { environment: 'dev', cognitoDomainPrefix: 'my-cognito' }, testEnv, 'cognitoDomainPrefix: "my-cognito" must be'],
    ['zones of another region', { environment: 'dev', availabilityZones: 'eu-west-1a,eu-west-1b' }, testEnv, 'availabilityZones: "eu-west-1a" is not a zone of us-east-1'],
    ['one zone', { environment: 'dev', availabilityZones: 'us-east-1a' }, testEnv, 'availabilityZones: want two zones'],
  ])('%s', (_name, context, env, want) => {
    expect(problems(context, env)).toEqual(expect.arrayContaining([expect.stringContaining(want)]));
  });

  test('every problem at once', () => {
    const got = problems({ environment: 'staging', alarmEmail: 'ops', certificateArn }, { ...testEnv, CDK_PLATFORM: 'sparc' });
    expect(got).toHaveLength(4);
    expect(new SettingsError(got).message).toMatch(/^invalid settings:\n {2}- /);
  });
});
