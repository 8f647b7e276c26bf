import { Annotations, App, Tags, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RoutesDoc } from './bedrock';
import { DataStack } from './data-stack';
import { NetworkStack } from './network-stack';
import { ServicesStack } from './services-stack';
import { loadSettings, Settings } from './settings';
import { TableSpec } from './tables';

export interface ConvertorApp {
  readonly settings: Settings;
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly services: ServicesStack;
}

export interface BuildOptions {
  /** The services' image; tests pass a fixed one so that templates do not change with the sources. */
  readonly image?: ecs.ContainerImage;
  readonly tableSpecs?: TableSpec[];
  readonly routes?: RoutesDoc;
}

/**
 * buildApp adds the deployment's stacks to app: network, data (tables,
 * queues, Redis, secrets, Cognito) and services (ECS, load balancer,
 * alarms, dashboard), checked by cdk-nag's AWS Solutions rules. It throws
 * a SettingsError when the settings are wrong.
 */
export function buildApp(app: App, env: Readonly<Record<string, string | undefined>>, opts: BuildOptions = {}): ConvertorApp {
  const settings = loadSettings(app.node.getAllContext() as Record<string, unknown>, env);
  const p = settings.stackPrefix;
  // The stacks name their region, not their account: the account is the
  // one deployed with, and synth never needs AWS access (no lookups).
  const stackEnv = { region: settings.region };
  const network = new NetworkStack(app, `${p}-Network`, { settings, env: stackEnv, description: 'OpenAI API Convertor: VPC' });
  const data = new DataStack(app, `${p}-Data`, {
    settings,
    env: stackEnv,
    vpc: network.vpc,
    tableSpecs: opts.tableSpecs,
    description: 'OpenAI API Convertor: DynamoDB tables, usage queues, Redis, secrets, admin user pool',
  });
  const services = new ServicesStack(app, `${p}-Services`, {
    settings,
    env: stackEnv,
    vpc: network.vpc,
    data,
    image: opts.image,
    routes: opts.routes,
    description: 'OpenAI API Convertor: ECS services, load balancer, alarms, dashboard',
  });
  for (const w of settings.warnings) Annotations.of(services).addWarningV2('convertor:settings', w);
  Tags.of(app).add('application', 'openai-api-convertor');
  Tags.of(app).add('environment', settings.environment);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { settings, network, data, services };
}
