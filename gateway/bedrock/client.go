package bedrock

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/aws/smithy-go/logging"
	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// Client defaults. Each is used when the ClientConfig field is zero.
const (
	// DefaultMaxRetries follows the AWS SDKs' standard retry mode (3 retries
	// after the first attempt).
	DefaultMaxRetries = 3
	// DefaultRetryBaseDelay and DefaultRetryMaxDelay bound the full-jitter
	// backoff: Bedrock throttling clears within seconds, and a client
	// waiting on a chat completion should not wait much longer than that.
	DefaultRetryBaseDelay = 200 * time.Millisecond
	DefaultRetryMaxDelay  = 2 * time.Second
	// DefaultMaxIdleConnsPerHost keeps one warm connection for every stream
	// a busy gateway replica holds open; Go's default of 2 (the SDK's 10)
	// makes every burst open and tear down connections.
	DefaultMaxIdleConnsPerHost = 512
	// DefaultIdleConnTimeout is below the ~350 s after which AWS load
	// balancers drop idle connections, so we never write to a dead one.
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultDialTimeout bounds connecting; DNS and TCP to AWS take
	// milliseconds, so a slow dial means the network is down.
	DefaultDialTimeout = 5 * time.Second
	// DefaultTLSHandshakeTimeout bounds the TLS handshake.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultMaxErrorBodyBytes caps how much of an error response is read;
	// Bedrock's error bodies are a short JSON object.
	DefaultMaxErrorBodyBytes = 64 << 10

	// signingName is the SigV4 service name of Bedrock Runtime ("bedrock",
	// not "bedrock-runtime"), as in the SDK's endpoint metadata.
	signingName = "bedrock"
	userAgent   = "openai-api-convertor"
)

// ClientConfig configures a Client. Every field has a documented default.
type ClientConfig struct {
	// Region is the AWS region (AWS_REGION); empty means the region of the
	// aws.Config passed to NewClient.
	Region string
	// Endpoint is the Bedrock Runtime base URL
	// (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS_ENDPOINT_URL); empty means
	// aws.Config.BaseEndpoint, else https://bedrock-runtime.<region>.amazonaws.com.
	Endpoint string
	// MaxRetries is how many times a throttled or unavailable call is
	// retried before giving up: 0 means DefaultMaxRetries, negative means
	// never retry.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the backoff; zero means the
	// defaults.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// MaxIdleConnsPerHost is the size of the keep-alive pool; 0 means
	// DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes pooled connections idle this long; 0 means
	// DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// DialTimeout bounds a TCP connect; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers; 0 means
	// no bound beyond the caller's context, because a non-streaming
	// Converse sends its headers only when the whole answer is ready.
	ResponseHeaderTimeout time.Duration
	// RootCAs verifies the endpoint's certificate; nil means the system's
	// roots. For a private endpoint whose CA the system does not know.
	RootCAs *x509.CertPool
	// HTTPClient is the HTTP client of NewSDKClient, for tests; nil means
	// one on NewTransport. The Client has its own transport and ignores it.
	HTTPClient *http.Client
}

// Client calls Bedrock Runtime's Converse and ConverseStream. One Client
// serves the whole process and is safe for concurrent use.
//
// It drives HTTP by hand instead of wrapping the SDK's bedrockruntime
// client: requests are our JSON wire types marshalled once and signed by a
// SigV4 signer for this one request shape (held to the SDK's signer by
// TestSigner_MatchesSDK), and streams are decoded by EventReader. That
// skips converting every block to and from the SDK's union types, the
// smithy middleware stack per call, and the goroutine plus channel
// hand-off per event of the SDK's stream reader;
// BenchmarkClient in this package measures the difference against the SDK
// client over loopback. It also avoids the data race smithy-go has under
// concurrent ConverseStream from bedrockruntime v1.63.0 on.
//
// Transport: HTTP/1.1 with a large keep-alive pool, one connection per
// in-flight call, and no goroutine of its own (see transport). HTTP/2 would
// multiplex streams over few connections, but then every stream shares one
// TCP window and one lost packet stalls them all; a gateway holding
// hundreds of long streams is better served by independent connections,
// which Bedrock's endpoints accept.
type Client struct {
	tr       *transport
	creds    aws.CredentialsProvider // nil: send unsigned (emulator)
	signer   *signer
	endpoint *url.URL
	// host is the Host header, signed and sent: the endpoint's, without a
	// port that is its scheme's default, as the SDKs sign it.
	host string

	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration

	// paths caches operationPath's answers (pathKey → string): escaping
	// and validating the path cost more than signing it. pathCount bounds
	// it, as model ids are the routes' and few.
	paths     sync.Map
	pathCount atomic.Int32
}

// pathKey keys Client.paths.
type pathKey struct{ modelID, op string }

// maxCachedPaths bounds Client.paths; paths past it are built each time.
const maxCachedPaths = 1024

// NewClient returns a Client for awsCfg's credentials. Credentials are
// wrapped in an aws.CredentialsCache unless they already are one, so they
// are loaded once and refreshed only before they expire. A nil or anonymous
// credentials provider sends unsigned requests, which only the emulator
// accepts.
func NewClient(awsCfg aws.Config, cfg ClientConfig) (*Client, error) {
	region := cfg.Region
	if region == "" {
		region = awsCfg.Region
	}
	if region == "" {
		return nil, errors.New("new bedrock client: no AWS region configured (set AWS_REGION)")
	}
	endpoint := cfg.Endpoint
	if endpoint == "" && awsCfg.BaseEndpoint != nil {
		endpoint = *awsCfg.BaseEndpoint
	}
	if endpoint == "" {
		endpoint = "https://bedrock-runtime." + region + ".amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new bedrock client: endpoint %q is not an http(s) URL", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""

	tr, err := newTransport(u, cfg)
	if err != nil {
		return nil, fmt.Errorf("new bedrock client: %w", err)
	}
	c := &Client{
		tr:         tr,
		signer:     &signer{region: region, service: signingName},
		host:       signingHost(u),
		endpoint:   u,
		maxRetries: cfg.MaxRetries,
		baseDelay:  cfg.RetryBaseDelay,
		maxDelay:   cfg.RetryMaxDelay,
	}
	switch p := awsCfg.Credentials.(type) {
	case nil, aws.AnonymousCredentials, *aws.AnonymousCredentials:
	case *aws.CredentialsCache:
		c.creds = p
	default:
		c.creds = aws.NewCredentialsCache(p)
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.baseDelay <= 0 {
		c.baseDelay = DefaultRetryBaseDelay
	}
	if c.maxDelay <= 0 {
		c.maxDelay = DefaultRetryMaxDelay
	}
	return c, nil
}

// LoadAWSConfig loads the SDK's default configuration chain (environment,
// shared files, SSO, web identity, ECS and EC2 roles) once. Its credentials
// come wrapped in an aws.CredentialsCache, so a Client built from it never
// reloads them per request. An empty region keeps the chain's own.
func LoadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	// The SDK's own logger writes unstructured lines to stderr, such as an
	// IMDSv1 fallback warning on every machine off EC2; what matters (no
	// credentials found) the gateway reports itself.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// credentialsProbeTimeout bounds HasCredentials: off EC2 the last link of
// the chain, the instance metadata service, never answers, and a developer
// starting `convertor dev` must not wait for its retries.
const credentialsProbeTimeout = time.Second

// HasCredentials reports whether awsCfg's credential chain yields keys
// within about a second. Development mode uses the emulator when it does not.
func HasCredentials(ctx context.Context, awsCfg aws.Config) bool {
	if awsCfg.Credentials == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsProbeTimeout)
	defer cancel()
	type result struct {
		creds aws.Credentials
		err   error
	}
	// Retrieve honours ctx in every provider of the default chain, but a
	// custom provider might not; the probe must return on time regardless.
	ch := make(chan result, 1)
	go func() {
		creds, err := awsCfg.Credentials.Retrieve(ctx)
		ch <- result{creds, err}
	}()
	select {
	case r := <-ch:
		return r.err == nil && r.creds.HasKeys()
	case <-ctx.Done():
		return false
	}
}

// Converse sends one non-streaming Converse call for modelID (a model id,
// inference-profile id or ARN). Failures are *APIError for Bedrock
// exceptions and domain errors (convertor.ErrorCode) otherwise.
func (c *Client) Converse(ctx context.Context, modelID string, req *ConverseRequest) (*ConverseResponse, error) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	_, attempts, err := c.do(ctx, modelID, "converse", req, resp)
	if err != nil {
		return nil, err
	}
	var out ConverseResponse
	if fastConverseResponse(resp.Body(), &out) {
		return &out, nil
	}
	out = ConverseResponse{}
	if err := fastjson.Unmarshal(resp.Body(), &out); err != nil {
		return nil, protocolError(fmt.Errorf("decode converse response: %w", err), attempts)
	}
	return &out, nil
}

// ConverseStream opens a ConverseStream call. The returned Stream must be
// closed; canceling ctx aborts it. Errors before the stream opens are as
// for Converse; errors after are returned by Stream.Next.
func (c *Client) ConverseStream(ctx context.Context, modelID string, req *ConverseRequest) (*Stream, error) {
	resp := fasthttp.AcquireResponse()
	resp.StreamBody = true
	body, attempts, err := c.do(ctx, modelID, "converse-stream", req, resp)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	st := newStream(ctx, body, string(resp.Header.Peek("X-Amzn-Requestid")), attempts)
	st.release = func() { fasthttp.ReleaseResponse(resp) }
	return st, nil
}

// do sends the request, retrying what Retryable allows, until resp holds a
// 2xx answer. With resp.StreamBody the returned body reads the rest of it
// and owns resp; without, resp holds the whole body.
func (c *Client) do(ctx context.Context, modelID, op string, req *ConverseRequest, resp *fasthttp.Response) (io.ReadCloser, int, error) {
	if modelID == "" {
		return nil, 0, &callError{domain: convertor.Errorf(convertor.EInvalid, "no Bedrock model id"), cause: errors.New("empty model id")}
	}
	body, err := fastjson.Marshal(req)
	if err != nil {
		return nil, 0, &callError{domain: convertor.Errorf(convertor.EInternal, "internal error"), cause: fmt.Errorf("marshal converse request: %w", err)}
	}
	sum := sha256.Sum256(body)
	var payloadHash [2 * sha256.Size]byte
	hex.Encode(payloadHash[:], sum[:])
	path := c.operationPath(modelID, op)
	accept := "application/json"
	if resp.StreamBody {
		accept = EventStreamContentType
	}
	hreq := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(hreq)

	for attempt := 1; ; attempt++ {
		rbody, err := c.send(ctx, hreq, path, accept, body, payloadHash[:], resp)
		if err != nil {
			if attempt <= c.maxRetries && ctx.Err() == nil && isDialError(err) {
				if werr := c.backoff(ctx, attempt); werr == nil {
					continue
				}
			}
			return nil, attempt, transportError(ctx, err, attempt)
		}
		if resp.StatusCode()/100 == 2 {
			return rbody, attempt, nil
		}
		apiErr, err := readAPIError(resp, rbody)
		if err != nil {
			return nil, attempt, transportError(ctx, err, attempt)
		}
		apiErr.Attempts = attempt
		if attempt <= c.maxRetries && apiErr.Retryable() {
			if werr := c.backoff(ctx, attempt); werr == nil {
				continue
			}
		}
		return nil, attempt, apiErr
	}
}

// operationURL builds {endpoint}/model/{modelId}/{op}. The model id is
// escaped as the SDK's httpbinding does (every byte but unreserved ones,
// '/' and ':' included, because ARNs carry both); RawPath keeps that form,
// and the signer escapes it once more, as SigV4 wants for non-S3 services.
func (c *Client) operationURL(modelID, op string) *url.URL {
	u := *c.endpoint
	u.Path = c.endpoint.Path + "/model/" + modelID + "/" + op
	u.RawPath = c.endpoint.EscapedPath() + "/model/" + httpbinding.EscapePath(modelID, true) + "/" + op
	return &u
}

// operationPath returns the escaped path of operationURL(modelID, op), the
// one sent and signed.
func (c *Client) operationPath(modelID, op string) string {
	k := pathKey{modelID, op}
	if p, ok := c.paths.Load(k); ok {
		return p.(string)
	}
	p := c.operationURL(modelID, op).EscapedPath()
	if c.pathCount.Load() < maxCachedPaths {
		if _, loaded := c.paths.LoadOrStore(k, p); !loaded {
			c.pathCount.Add(1)
		}
	}
	return p
}

// send makes one signed attempt. The request is signed afresh each time so
// that the signature's timestamp is current; the path sent is the one
// signed, byte for byte.
func (c *Client) send(ctx context.Context, req *fasthttp.Request, path, accept string, body, payloadHash []byte, resp *fasthttp.Response) (io.ReadCloser, error) {
	req.Reset()
	req.Header.SetMethod(http.MethodPost)
	req.Header.SetRequestURI(path)
	req.Header.SetHost(c.host)
	req.Header.SetContentType("application/json")
	req.Header.Set("Accept", accept)
	req.Header.SetUserAgent(userAgent)
	req.SetBodyRaw(body)
	if c.creds != nil {
		if err := c.sign(ctx, req, path, accept, len(body), payloadHash); err != nil {
			return nil, err
		}
	}
	stream := resp.StreamBody
	resp.Reset()
	resp.StreamBody = stream
	return c.tr.roundTrip(ctx, req, resp)
}

// sign adds the SigV4 headers to req for an attempt starting now.
func (c *Client) sign(ctx context.Context, req *fasthttp.Request, path, accept string, bodyLen int, payloadHash []byte) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve aws credentials: %w", err)
	}
	c.signer.sign(req, creds, c.host, path, accept, bodyLen, payloadHash, time.Now())
	return nil
}

// signingHost is u's host as requests carry it: a port that is the
// scheme's default is dropped, as the AWS SDKs do before signing.
func signingHost(u *url.URL) string {
	if p := u.Port(); (p == "443" && u.Scheme == "https") || (p == "80" && u.Scheme == "http") {
		return strings.TrimSuffix(u.Host, ":"+p)
	}
	return u.Host
}

// backoff sleeps a full-jitter exponential delay before retry n+1, or
// returns ctx's error if the caller gives up first.
func (c *Client) backoff(ctx context.Context, n int) error {
	ceiling := c.baseDelay << min(n-1, 16)
	if ceiling <= 0 || ceiling > c.maxDelay {
		ceiling = c.maxDelay
	}
	d := time.Duration(rand.Int64N(int64(ceiling) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readAPIError reads an error response the way the SDK's REST-JSON
// deserializers do: the exception name from x-amzn-ErrorType, else from the
// body's "code" or "__type"; the message from the body's "message". A
// streamed response's body is read here, up to DefaultMaxErrorBodyBytes,
// and closed; an error means it could not be read.
func readAPIError(resp *fasthttp.Response, body io.ReadCloser) (*APIError, error) {
	var raw []byte
	if body != nil {
		var err error
		raw, err = io.ReadAll(io.LimitReader(body, DefaultMaxErrorBodyBytes))
		body.Close()
		if err != nil {
			return nil, fmt.Errorf("read error response: %w", err)
		}
	} else {
		// Without a body stream only: Body would read one past our reader.
		raw = resp.Body()
	}
	return parseAPIError(resp.StatusCode(), string(resp.Header.Peek("X-Amzn-Requestid")), string(resp.Header.Peek("X-Amzn-Errortype")), raw), nil
}

// parseAPIError builds the APIError of an error response from its status,
// request id, x-amzn-ErrorType header and body.
func parseAPIError(status int, requestID, errType string, raw []byte) *APIError {
	var body struct {
		Code    string `json:"code"`
		Type    string `json:"__type"`
		Message string `json:"message"`
		// Some AWS front ends capitalise it.
		MessageUpper string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &body)
	e := &APIError{
		StatusCode: status,
		RequestID:  requestID,
		Message:    body.Message,
	}
	if e.Message == "" {
		e.Message = body.MessageUpper
	}
	switch {
	case errType != "":
		e.Type = canonicalExceptionType(errType)
	case body.Code != "":
		e.Type = canonicalExceptionType(body.Code)
	case body.Type != "":
		e.Type = canonicalExceptionType(body.Type)
	default:
		e.Type = statusExceptionType(status)
	}
	return e
}

// statusExceptionType names an exception for a response that carried none
// (a proxy or load balancer answered), so mapping and retries still work.
func statusExceptionType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return ExceptionThrottling
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return ExceptionServiceUnavailable
	case status == http.StatusForbidden:
		return ExceptionAccessDenied
	case status == http.StatusNotFound:
		return ExceptionResourceNotFound
	case status == http.StatusBadRequest:
		return ExceptionValidation
	case status >= 500:
		return ExceptionInternalServer
	}
	return "UnknownError"
}

// isDialError reports a failure to connect at all: the request never left,
// so retrying cannot run (and bill) it twice.
func isDialError(err error) bool {
	var de *dialError
	if errors.As(err, &de) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
