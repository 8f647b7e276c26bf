// CDK's built-in CloudFormation schema validation takes about 30 s per
// synth on our machines; the tests synthesize a dozen apps. `make
// cdk-test` runs it on the real templates through `cdk synth` (dev and
// prod). cdk-nag, a validation plugin of its own, runs in every test.
process.env.CDK_VALIDATION = 'false';
