#!/usr/bin/env node
// The CDK app: npx cdk deploy --all -c environment=dev|prod (README, "Deploy to AWS").
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { SettingsError } from '../lib/settings';

const app = new App();
try {
  buildApp(app, process.env);
} catch (err) {
  if (err instanceof SettingsError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
app.synth();
