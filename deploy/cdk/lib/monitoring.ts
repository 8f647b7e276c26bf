import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RunningService } from './services-stack';
import { ServiceName, Settings } from './settings';

/** Thresholds of the alarms; the README ("Alarms") says what each means and what to do. */
export const thresholds = {
  /** Gateway responses that are 5xx, in percent of its requests, over 5 minutes, twice in a row. */
  gateway5xxPercent: 5,
  /** p99 of the gateway's time to response headers, over 5 minutes, three times in a row. */
  gatewayP99Seconds: 60,
  /** Age of the oldest waiting usage event or priced record, for 5 minutes. */
  queueAgeSeconds: 300,
  /** ERROR lines logged by a worker in 5 minutes. */
  workerErrors: 1,
} as const;

export interface MonitoringProps {
  readonly settings: Settings;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly gatewayTargetGroup: elbv2.ApplicationTargetGroup;
  readonly adminTargetGroup: elbv2.ApplicationTargetGroup;
  readonly services: Readonly<Record<ServiceName, RunningService>>;
  readonly usageQueue: sqs.IQueue;
  readonly usageDeadLetterQueue: sqs.IQueue;
  readonly pricedQueue: sqs.IQueue;
  readonly pricedDeadLetterQueue: sqs.IQueue;
}

/**
 * Monitoring is the alarms, sent to an SNS topic (mailed to alarmEmail when
 * set), and a dashboard of the same signals.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const s = props.settings;
    this.topic = new sns.Topic(this, 'Alarms', { topicName: `${s.name}-alarms`, enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and states, no data; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key for this alone costs more than it protects.',
    });
    if (s.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(s.alarmEmail));

    const namespace = `OpenAIConvertor/${s.environment}`;
    const errorMetrics = {} as Record<ServiceName, cloudwatch.Metric>;
    for (const svc of Object.values(props.services)) {
      // The services log JSON (LOG_FORMAT=json); an ERROR line is a failed
      // request upstream, a dropped event or a batch that will be retried.
      // Metric filters cannot set a fixed dimension, so each service gets
      // its own metric name.
      const metricName = `${capitalize(svc.name)}ErrorLogs`;
      new logs.MetricFilter(this, `${capitalize(svc.name)}ErrorLogs`, {
        logGroup: svc.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'ERROR'),
        metricNamespace: namespace,
        metricName,
        metricValue: '1',
        defaultValue: 0,
      });
      errorMetrics[svc.name] = new cloudwatch.Metric({ namespace, metricName, statistic: 'Sum', period: Duration.minutes(5), label: svc.name });
    }

    const gw = props.gatewayTargetGroup.metrics;
    const requests = gw.requestCount({ period: Duration.minutes(5) });
    const rate5xx = new cloudwatch.MathExpression({
      label: 'gateway 5xx %',
      expression: '100 * (FILL(t5xx, 0) + FILL(e5xx, 0)) / FILL(req, 1)',
      usingMetrics: {
        t5xx: gw.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(5) }),
        e5xx: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: Duration.minutes(5) }),
        req: requests,
      },
      period: Duration.minutes(5),
    });
    this.alarm('Gateway5xxRate', rate5xx, thresholds.gateway5xxPercent, 2, 'More than 5% of gateway responses were 5xx (gateway or load balancer) for 10 minutes: Bedrock failing or throttling beyond retries, the gateway crashing, or no healthy task.');
    const p99 = gw.targetResponseTime({ statistic: 'p99', period: Duration.minutes(5) });
    this.alarm('GatewayP99Latency', p99, thresholds.gatewayP99Seconds, 3, 'The p99 of the gateway\'s time to answer (response headers; a stream\'s first byte) stayed above 60 s for 15 minutes: Bedrock slow or throttling, or gateway tasks saturated.');

    for (const [name, q] of [
      ['UsageQueueAge', props.usageQueue],
      ['PricedQueueAge', props.pricedQueue],
    ] as const) {
      this.alarm(name, q.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }), thresholds.queueAgeSeconds, 5,
        'Usage accounting is falling behind: the oldest waiting message is over 5 minutes old, so dashboards and budgets lag. The accountant or aggregator is down, failing, or at its maximum task count.');
    }
    for (const [name, q] of [
      ['UsageDeadLetters', props.usageDeadLetterQueue],
      ['PricedDeadLetters', props.pricedDeadLetterQueue],
    ] as const) {
      this.alarm(name, q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }), 1, 1,
        'A message reached a dead-letter queue: it could not be read, or failed 20 times. Its usage is not accounted until it is moved back (README, "Alarms").');
    }
    for (const name of ['accountant', 'aggregator'] as const) {
      this.alarm(`${capitalize(name)}Errors`, errorMetrics[name], thresholds.workerErrors, 1,
        `The ${name} logged an ERROR in the last 5 minutes: a batch failed (it is retried) or a message was dead-lettered. Its log group says which.`);
    }

    this.dashboard = this.buildDashboard(props, rate5xx, p99, errorMetrics);
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, periods: number, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: periods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  private buildDashboard(props: MonitoringProps, rate5xx: cloudwatch.IMetric, p99: cloudwatch.IMetric, errors: Record<ServiceName, cloudwatch.Metric>): cloudwatch.Dashboard {
    const gw = props.gatewayTargetGroup.metrics;
    const admin = props.adminTargetGroup.metrics;
    const five = { period: Duration.minutes(5) };
    const one = { period: Duration.minutes(1) };
    const svc = props.services;
    const d = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.settings.name });
    d.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }));
    d.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Gateway requests', left: [gw.requestCount(five)], right: [rate5xx], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Gateway time to answer (s)',
        left: [gw.targetResponseTime({ ...five, statistic: 'p50' }), gw.targetResponseTime({ ...five, statistic: 'p90' }), p99],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Gateway tasks',
        left: [svc.gateway.service.metricCpuUtilization(five), svc.gateway.service.metricMemoryUtilization(five)],
        right: [gw.healthyHostCount(one), gw.unhealthyHostCount(one)],
        width: 8,
      }),
    );
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Usage waiting',
        left: [props.usageQueue.metricApproximateNumberOfMessagesVisible(one), props.pricedQueue.metricApproximateNumberOfMessagesVisible(one)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Oldest waiting (s)',
        left: [props.usageQueue.metricApproximateAgeOfOldestMessage(one), props.pricedQueue.metricApproximateAgeOfOldestMessage(one)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead letters',
        left: [props.usageDeadLetterQueue.metricApproximateNumberOfMessagesVisible(one), props.pricedDeadLetterQueue.metricApproximateNumberOfMessagesVisible(one)],
        width: 8,
      }),
    );
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'ERROR log lines',
        left: Object.values(errors),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Workers CPU %',
        left: [svc.accountant.service.metricCpuUtilization(five), svc.aggregator.service.metricCpuUtilization(five)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Admin API',
        left: [admin.requestCount(five)],
        right: [admin.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, five)],
        width: 8,
      }),
    );
    return d;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
