import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { buildApp, ConvertorApp } from '../lib/app';

/** The feature flags of cdk.json, so tests build what `cdk synth` builds. */
const cdkJsonContext = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export const testEnv = { CDK_DEFAULT_REGION: 'us-east-1', CDK_DEFAULT_ACCOUNT: '123456789012' };

/** A fixed image: templates must not change with the Go sources. */
export const testImage = ecs.ContainerImage.fromRegistry('openai-api-convertor:test');

export const zoneSettings = { domainName: 'api.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
export const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

export interface Built extends ConvertorApp {
  readonly app: App;
  template(stack: Stack): Template;
}

/** build builds the app with context (plus cdk.json's) and env; it does not synthesize. */
export function build(context: Record<string, unknown>, env: Record<string, string | undefined> = testEnv): Built {
  const app = new App({ context: { ...cdkJsonContext, ...context }, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-test-')) });
  const built = buildApp(app, env, { image: testImage });
  const templates = new Map<Stack, Template>();
  return {
    ...built,
    app,
    template(stack: Stack): Template {
      let t = templates.get(stack);
      if (t === undefined) {
        t = Template.fromStack(stack);
        templates.set(stack, t);
      }
      return t;
    },
  };
}

/** policyStatements returns the statements of every inline policy attached to the role whose logical id starts with prefix. */
export function policyStatements(t: Template, rolePrefix: string): Array<{ Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }> {
  const out: Array<{ Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }> = [];
  for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref);
    if (roles.some((r) => r.startsWith(rolePrefix))) out.push(...policy.Properties.PolicyDocument.Statement);
  }
  return out;
}

export function actionsOf(statements: Array<{ Action: string | string[] }>): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** containerEnvironment returns the environment and secret names of a service's container. */
export function containerEnvironment(t: Template, family: string): { env: Record<string, unknown>; secrets: string[] } {
  const tasks = Object.values(t.findResources('AWS::ECS::TaskDefinition')).filter((r) => r.Properties.Family === family);
  if (tasks.length !== 1) throw new Error(`want one task definition of family ${family}, have ${tasks.length}`);
  const c = tasks[0].Properties.ContainerDefinitions[0];
  const env: Record<string, unknown> = {};
  for (const e of c.Environment ?? []) env[e.Name] = e.Value;
  return { env, secrets: (c.Secrets ?? []).map((s: { Name: string }) => s.Name) };
}
