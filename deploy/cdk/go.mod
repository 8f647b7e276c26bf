// The CDK app holds no Go code. This file makes deploy/cdk a module of its
// own, so that ./... in the product's module never walks into
// node_modules, where aws-cdk ships Go templates that do not compile.
module github.com/openai-api-convertor/convertor/deploy/cdk

go 1.26
