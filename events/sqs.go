package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsLocalRegion is the region of a local SQS-compatible server when none
// is configured; such servers ignore it.
const sqsLocalRegion = "us-east-1"

// sqsReceiveWait is the long-poll time of one ReceiveMessage (SQS's
// maximum), so an idle consumer costs few requests.
const sqsReceiveWait = 20

func newSQSPublisher(ctx context.Context, cfg Config, log *slog.Logger) (message.Publisher, error) {
	awsCfg, opts, err := sqsConfig(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return wmsqs.NewPublisher(wmsqs.PublisherConfig{
		AWSConfig:                   awsCfg,
		OptFns:                      opts,
		DoNotCreateQueueIfNotExists: true, // sqsQueues creates them, with the redrive policy
		QueueUrlResolver:            newSQSQueues(sqs.NewFromConfig(awsCfg, opts...), cfg),
	}, watermillLogger(log))
}

func newSQSSubscriber(ctx context.Context, cfg Config, log *slog.Logger) (message.Subscriber, error) {
	awsCfg, opts, err := sqsConfig(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return wmsqs.NewSubscriber(wmsqs.SubscriberConfig{
		AWSConfig:                   awsCfg,
		OptFns:                      opts,
		DoNotCreateQueueIfNotExists: true,
		QueueUrlResolver:            newSQSQueues(sqs.NewFromConfig(awsCfg, opts...), cfg),
		// Each worker holds one message until it is acked; several let a
		// consumer batch.
		ConsumeWorkers: cfg.SQSWorkers,
		GenerateReceiveMessageInput: func(_ context.Context, u wmsqs.QueueURL) (*sqs.ReceiveMessageInput, error) {
			return &sqs.ReceiveMessageInput{
				QueueUrl:              aws.String(string(u)),
				MessageAttributeNames: []string{"All"},
				WaitTimeSeconds:       sqsReceiveWait,
				MaxNumberOfMessages:   1,
			}, nil
		},
	}, watermillLogger(log))
}

// sqsConfig loads the AWS configuration for SQS. Against a loopback
// endpoint it uses fixed credentials: local servers do not check
// signatures, and the default chain would otherwise end at the EC2
// metadata service.
func sqsConfig(ctx context.Context, cfg Config, log *slog.Logger) (aws.Config, []func(*sqs.Options), error) {
	var load []func(*awsconfig.LoadOptions) error
	region := cfg.Region
	if region == "" && cfg.SQSEndpoint != "" {
		region = sqsLocalRegion
	}
	if region != "" {
		load = append(load, awsconfig.WithRegion(region))
	}
	local := isLoopbackURL(cfg.SQSEndpoint)
	if local {
		load = append(load, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		log.Info("events: SQS endpoint is local; using placeholder credentials", "endpoint", cfg.SQSEndpoint)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("aws config: %w", err)
	}
	var opts []func(*sqs.Options)
	if cfg.SQSEndpoint != "" {
		opts = append(opts, func(o *sqs.Options) { o.BaseEndpoint = aws.String(cfg.SQSEndpoint) })
	}
	return awsCfg, opts, nil
}

// isLoopbackURL reports whether raw is an http(s) URL on a loopback host.
func isLoopbackURL(raw string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sqsQueues maps topics to queue URLs for watermill-aws: cfg.Topic to
// cfg.SQSQueueURL, cfg.DeadLetterTopic to cfg.SQSDeadLetterURL, any other
// topic to the queue of the same name (dots become dashes). Missing queues
// are created, the main one with a RedrivePolicy to the dead-letter queue
// after cfg.MaxDeliver receives.
type sqsQueues struct {
	client *sqs.Client
	cfg    Config

	mu   sync.Mutex
	urls map[string]string // topic → queue URL; q.mu must be held
}

func newSQSQueues(client *sqs.Client, cfg Config) *sqsQueues {
	return &sqsQueues{client: client, cfg: cfg, urls: make(map[string]string)}
}

// ResolveQueueUrl implements wmsqs.QueueUrlResolver.
func (q *sqsQueues) ResolveQueueUrl(ctx context.Context, p wmsqs.ResolveQueueUrlParams) (wmsqs.QueueUrlResolverResult, error) {
	u, err := q.url(ctx, p.Topic)
	if err != nil {
		return wmsqs.QueueUrlResolverResult{}, err
	}
	qu := wmsqs.QueueURL(u)
	exists := true
	return wmsqs.QueueUrlResolverResult{QueueName: wmsqs.QueueName(queueNameOf(u)), QueueURL: &qu, Exists: &exists}, nil
}

// url returns topic's queue URL, creating the queue when it is missing.
func (q *sqsQueues) url(ctx context.Context, topic string) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u, ok := q.urls[topic]; ok {
		return u, nil
	}
	var (
		u   string
		err error
	)
	switch {
	case topic == q.cfg.Topic && q.cfg.SQSQueueURL != "":
		attrs := map[string]string{}
		if q.cfg.SQSDeadLetterURL != "" {
			var dlqARN string
			if _, dlqARN, err = q.ensure(ctx, q.cfg.SQSDeadLetterURL, queueNameOf(q.cfg.SQSDeadLetterURL), nil); err != nil {
				return "", err
			}
			policy, _ := json.Marshal(map[string]string{
				"deadLetterTargetArn": dlqARN,
				"maxReceiveCount":     strconv.Itoa(q.cfg.MaxDeliver),
			})
			attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(policy)
		}
		u, _, err = q.ensure(ctx, q.cfg.SQSQueueURL, queueNameOf(q.cfg.SQSQueueURL), attrs)
	case topic == q.cfg.DeadLetterTopic && q.cfg.SQSDeadLetterURL != "":
		u, _, err = q.ensure(ctx, q.cfg.SQSDeadLetterURL, queueNameOf(q.cfg.SQSDeadLetterURL), nil)
	default:
		u, err = q.byName(ctx, strings.ReplaceAll(topic, ".", "-"))
	}
	if err != nil {
		return "", err
	}
	q.urls[topic] = u
	return u, nil
}

// ensure returns the URL and ARN of the queue at u, creating it as name
// with attrs when it does not exist. An existing queue is left as it is:
// in AWS the deployment owns its attributes.
func (q *sqsQueues) ensure(ctx context.Context, u, name string, attrs map[string]string) (string, string, error) {
	arn, err := q.arn(ctx, u)
	if err == nil {
		return u, arn, nil
	}
	if !isQueueMissing(err) {
		return "", "", err
	}
	created, err := q.create(ctx, name, attrs)
	if err != nil {
		return "", "", err
	}
	arn, err = q.arn(ctx, created)
	if err != nil {
		return "", "", err
	}
	return created, arn, nil
}

// byName returns the URL of the queue called name, creating it if missing.
func (q *sqsQueues) byName(ctx context.Context, name string) (string, error) {
	out, err := q.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err == nil {
		return aws.ToString(out.QueueUrl), nil
	}
	if !isQueueMissing(err) {
		return "", fmt.Errorf("get queue url %s: %w", name, err)
	}
	return q.create(ctx, name, nil)
}

func (q *sqsQueues) create(ctx context.Context, name string, attrs map[string]string) (string, error) {
	all := map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(q.cfg.SQSVisibilityTimeout / time.Second)),
	}
	for k, v := range attrs {
		all[k] = v
	}
	out, err := q.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: all})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (q *sqsQueues) arn(ctx context.Context, u string) (string, error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(u),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("queue attributes %s: %w", u, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("queue attributes %s: no QueueArn", u)
	}
	return arn, nil
}

// isQueueMissing reports whether err says the queue does not exist.
func isQueueMissing(err error) bool {
	var missing *types.QueueDoesNotExist
	return errors.As(err, &missing)
}

// queueNameOf returns the queue name of a queue URL: its last path segment.
func queueNameOf(u string) string {
	return u[strings.LastIndex(u, "/")+1:]
}
