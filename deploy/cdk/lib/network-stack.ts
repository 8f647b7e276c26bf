import { Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Settings } from './settings';

export interface NetworkStackProps extends StackProps {
  readonly settings: Settings;
}

/**
 * NetworkStack is the VPC: public subnets for the load balancer and the NAT
 * gateways, private subnets for the tasks (which reach Bedrock, SQS,
 * Cognito and ECR through NAT), isolated subnets for Redis.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const s = props.settings;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      vpcName: s.name,
      availabilityZones: [...s.availabilityZones],
      natGateways: s.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 },
      ],
      // DynamoDB traffic, the bulk of the workers', stays off NAT (a
      // gateway endpoint costs nothing).
      gatewayEndpoints: { DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    // Rejected connections in dev (what security investigations need),
    // every flow in prod.
    this.vpc.addFlowLog('FlowLog', {
      trafficType: s.environment === 'prod' ? ec2.FlowLogTrafficType.ALL : ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          logGroupName: `/${s.name}/vpc-flow`,
          retention: s.logRetentionDays as logs.RetentionDays,
        }),
      ),
    });
  }
}
