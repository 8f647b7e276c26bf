// The gateway's permission to call Bedrock: exactly the models and
// inference profiles of the built-in routes (routes.json, a copy of
// convertor.DefaultRoutes that a Go test keeps current) and those the
// deployment adds (the bedrockModels setting).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

export interface RoutesDoc {
  readonly inference_profile_geographies: string[];
  readonly routes: { readonly model: string; readonly bedrock_model_id: string }[];
}

export const routesFile = path.join(__dirname, '..', 'routes.json');

export function readRoutes(file = routesFile): RoutesDoc {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RoutesDoc>;
  if (!Array.isArray(doc.routes) || !Array.isArray(doc.inference_profile_geographies)) {
    throw new Error(`${file}: want "routes" and "inference_profile_geographies"; regenerate it: go test ./cmd/convertor -run CDKCopy -update`);
  }
  return doc as RoutesDoc;
}

/** The actions Converse and ConverseStream are authorized by. */
export const invokeActions = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

export interface BedrockResources {
  /** Foundation models called directly, in the deployment's region. */
  readonly foundationModels: string[];
  /** Inference profiles (cross-region system profiles and application profiles). */
  readonly inferenceProfiles: string[];
  /**
   * The foundation models behind the cross-region profiles, in every region
   * the profiles route to: usable only through one of inferenceProfiles.
   */
  readonly routedModels: string[];
}

/**
 * bedrockResources lists the ARNs the gateway may invoke for the given
 * model ids, inference-profile ids and ARNs.
 *
 * A cross-region inference profile ("us.anthropic.claude-…") sends each
 * request to the foundation model in one of several regions, and IAM
 * authorizes the call against the profile and against the foundation
 * model in the region that serves it. Which regions a profile uses is
 * AWS's to change, so the foundation-model ARNs take a region wildcard
 * ("arn:aws:bedrock:*::foundation-model/anthropic.claude-…"), and a global
 * profile's requests are also authorized against the region-less ARN
 * ("arn:aws:bedrock:::foundation-model/…"). Those statements carry the
 * condition bedrock:InferenceProfileArn, so the models can be reached only
 * through the listed profiles, never called directly in another region.
 */
export function bedrockResources(ids: readonly string[], geographies: readonly string[]): BedrockResources {
  const region = Aws.REGION;
  const account = Aws.ACCOUNT_ID;
  const partition = Aws.PARTITION;
  const out = { foundationModels: new Set<string>(), inferenceProfiles: new Set<string>(), routedModels: new Set<string>() };
  const addProfile = (profileArn: string, profileId: string) => {
    const model = splitProfile(profileId, geographies);
    out.inferenceProfiles.add(profileArn);
    if (model === undefined) return;
    out.routedModels.add(`arn:${partition}:bedrock:*::foundation-model/${model.modelId}`);
    if (model.geography === 'global') {
      out.routedModels.add(`arn:${partition}:bedrock:::foundation-model/${model.modelId}`);
    }
  };
  for (const id of ids) {
    if (id.startsWith('arn:')) {
      const resource = id.split(':').slice(5).join(':');
      const [type, ...rest] = resource.split('/');
      if (type === 'foundation-model') {
        out.foundationModels.add(id);
      } else if (type === 'inference-profile') {
        addProfile(id, rest.join('/'));
      } else {
        // An application inference profile names no model; the models it
        // copies must be listed too.
        out.inferenceProfiles.add(id);
      }
      continue;
    }
    if (splitProfile(id, geographies) !== undefined) {
      addProfile(`arn:${partition}:bedrock:${region}:${account}:inference-profile/${id}`, id);
    } else {
      out.foundationModels.add(`arn:${partition}:bedrock:${region}::foundation-model/${id}`);
    }
  }
  return {
    foundationModels: [...out.foundationModels],
    inferenceProfiles: [...out.inferenceProfiles],
    routedModels: [...out.routedModels],
  };
}

/** splitProfile splits "us.anthropic.claude-…" into geography and model id, as convertor.SplitInferenceProfile does. */
export function splitProfile(id: string, geographies: readonly string[]): { geography: string; modelId: string } | undefined {
  for (const g of geographies) {
    if (id.startsWith(`${g}.`)) return { geography: g, modelId: id.slice(g.length + 1) };
  }
  return undefined;
}

/** bedrockStatements grants the invoke actions on exactly the resources of r. */
export function bedrockStatements(r: BedrockResources): iam.PolicyStatement[] {
  const statements: iam.PolicyStatement[] = [];
  if (r.foundationModels.length > 0) {
    statements.push(new iam.PolicyStatement({ sid: 'InvokeFoundationModels', actions: invokeActions, resources: r.foundationModels }));
  }
  if (r.inferenceProfiles.length > 0) {
    statements.push(new iam.PolicyStatement({ sid: 'InvokeInferenceProfiles', actions: invokeActions, resources: r.inferenceProfiles }));
  }
  if (r.routedModels.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'InvokeModelsThroughProfiles',
        actions: invokeActions,
        resources: r.routedModels,
        conditions: { StringEquals: { 'bedrock:InferenceProfileArn': r.inferenceProfiles } },
      }),
    );
  }
  return statements;
}
