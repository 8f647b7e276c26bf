package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// ImageFetcher downloads the https images a request refers to.
type ImageFetcher interface {
	// Fetch downloads the image at rawURL, charging budget for what it
	// reads as it reads. Returns EInvalid, with a message naming the URL
	// and no internal detail, if the image cannot be used; EInvalid saying
	// so once budget is spent; ECanceled when ctx is canceled.
	Fetch(ctx context.Context, rawURL string, budget *ImageBudget) (bedrock.ImageBlock, error)
}

// ImageBudget is how many bytes the image downloads of one request may
// read in all (IMAGE_FETCH_MAX_TOTAL_BYTES). Its downloads run in parallel
// and each charges its reads as they happen, so a request stops as soon
// as the sum passes the bound, not when its downloads end. A nil budget
// bounds nothing. Safe for concurrent use.
type ImageBudget struct {
	limit int64
	used  atomic.Int64
}

// NewImageBudget returns a budget of limit bytes.
func NewImageBudget(limit int64) *ImageBudget {
	return &ImageBudget{limit: limit}
}

// Spend charges n bytes read. It reports false once the bytes charged
// pass the budget: the download must stop.
func (b *ImageBudget) Spend(n int64) bool {
	return b == nil || b.used.Add(n) <= b.limit
}

// spentError is the error of a download stopped by its spent budget.
func (b *ImageBudget) spentError() error {
	return &convertor.Error{
		Code:   convertor.EInvalid,
		Reason: "invalid_image_url",
		Message: fmt.Sprintf("Could not use the images of this request: together they are larger than the %d bytes this server downloads for one request. Send fewer or smaller images.",
			b.limit),
	}
}

// budgetReader charges its budget for every read.
type budgetReader struct {
	r io.Reader
	b *ImageBudget
}

// errBudgetSpent ends a read past the budget.
var errBudgetSpent = errors.New("image budget spent")

func (r budgetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 && !r.b.Spend(int64(n)) {
		return n, errBudgetSpent
	}
	return n, err
}

// ImageFetchConfig configures an HTTPImageFetcher.
type ImageFetchConfig struct {
	// MaxBytes is the largest image accepted.
	MaxBytes int64
	// Timeout bounds one fetch, redirects included.
	Timeout time.Duration
	// DialContext replaces the guarded dialer. Only tests set it, to reach
	// a local server that the guard would refuse.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs replaces the system roots; only tests set it.
	RootCAs *x509.CertPool
}

// maxImageRedirects is how many redirects a fetch follows; image CDNs use
// one or two.
const maxImageRedirects = 3

// HTTPImageFetcher fetches images over https, refusing any address that is
// not public (an SSRF guard). The guard runs on the IP actually dialed, after
// DNS resolution and for every redirect, so a name that resolves to a
// private address, or is rebound to one, is still refused. Safe for
// concurrent use.
type HTTPImageFetcher struct {
	client   *http.Client
	maxBytes int64
}

// NewHTTPImageFetcher returns a fetcher with one shared client, so
// connections to image hosts are reused across requests.
func NewHTTPImageFetcher(cfg ImageFetchConfig) *HTTPImageFetcher {
	dial := cfg.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: cfg.Timeout, Control: guardDialControl}
		dial = d.DialContext
	}
	tr := &http.Transport{
		DialContext:           dial,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		// Proxies would move the dial, and so the guard, elsewhere.
		Proxy: nil,
	}
	return &HTTPImageFetcher{
		maxBytes: cfg.MaxBytes,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) > maxImageRedirects {
					return errTooManyRedirects
				}
				return checkImageURL(req.URL)
			},
		},
	}
}

var _ ImageFetcher = (*HTTPImageFetcher)(nil)

var (
	errTooManyRedirects = errors.New("too many redirects")
	errNotPublic        = errors.New("address is not public")
	errNotHTTPS         = errors.New("only https URLs are fetched")
)

// Fetch implements ImageFetcher.
func (f *HTTPImageFetcher) Fetch(ctx context.Context, rawURL string, budget *ImageBudget) (bedrock.ImageBlock, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return bedrock.ImageBlock{}, imageError(rawURL, "is not a valid URL")
	}
	if err := checkImageURL(u); err != nil {
		return bedrock.ImageBlock{}, imageError(rawURL, imageErrorReason(err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return bedrock.ImageBlock{}, imageError(rawURL, "is not a valid URL")
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif, image/webp")
	resp, err := f.client.Do(req)
	if err != nil {
		return bedrock.ImageBlock{}, fetchFailure(ctx, rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bedrock.ImageBlock{}, imageError(rawURL, fmt.Sprintf("answered HTTP %d", resp.StatusCode))
	}
	if resp.ContentLength > f.maxBytes {
		return bedrock.ImageBlock{}, imageError(rawURL, fmt.Sprintf("is larger than %d bytes", f.maxBytes))
	}
	data, err := io.ReadAll(io.LimitReader(budgetReader{resp.Body, budget}, f.maxBytes+1))
	if errors.Is(err, errBudgetSpent) {
		return bedrock.ImageBlock{}, budget.spentError()
	}
	if err != nil {
		return bedrock.ImageBlock{}, fetchFailure(ctx, rawURL, err)
	}
	if int64(len(data)) > f.maxBytes {
		return bedrock.ImageBlock{}, imageError(rawURL, fmt.Sprintf("is larger than %d bytes", f.maxBytes))
	}
	format := sniffImageFormat(data)
	if format == "" {
		return bedrock.ImageBlock{}, imageError(rawURL, "is not a png, jpeg, gif or webp image")
	}
	return bedrock.ImageBlock{Format: format, Source: bedrock.ImageSource{Bytes: data}}, nil
}

// checkImageURL refuses what the dial guard cannot see: other schemes, and
// IP literals that are not public (refused early for a clearer message).
func checkImageURL(u *url.URL) error {
	host := u.Hostname()
	if u.Scheme != "https" || host == "" {
		return errNotHTTPS
	}
	if ip, err := netip.ParseAddr(host); err == nil && !isPublicAddr(ip) {
		return errNotPublic
	}
	return nil
}

// guardDialControl runs after DNS resolution, just before connect, with
// the address about to be dialed: the only check DNS rebinding cannot dodge.
func guardDialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("guard %s: %w", address, err)
	}
	if !isPublicAddr(ap.Addr()) {
		return errNotPublic
	}
	return nil
}

// nonPublicPrefixes are the ranges netip's predicates do not cover.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds any IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4
	netip.MustParsePrefix("100::/64"),        // discard-only
}

// isPublicAddr reports whether ip is a unicast address on the public
// internet. It refuses loopback, private (RFC 1918, ULA fc00::/7),
// link-local (169.254/16 with the cloud metadata service, fe80::/10),
// unspecified, multicast, CGNAT and reserved ranges, and judges an
// IPv4-mapped IPv6 address (::ffff:127.0.0.1) by the IPv4 inside it.
func isPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip.Is6() && ip.As16()[0] == 0 {
		// ::/8 holds only special forms (IPv4-compatible, unspecified).
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// sniffImageFormat returns the Bedrock image format of data from its magic
// bytes; the Content-Type header is not trusted.
func sniffImageFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// maxQuotedURL bounds how much of a URL an error message quotes.
const maxQuotedURL = 200

func imageError(rawURL, reason string) error {
	if len(rawURL) > maxQuotedURL {
		rawURL = rawURL[:maxQuotedURL] + "…"
	}
	return &convertor.Error{
		Code:    convertor.EInvalid,
		Reason:  "invalid_image_url",
		Message: fmt.Sprintf("Could not use the image at %s: it %s.", rawURL, reason),
	}
}

// imageErrorReason words a fetch error for the client without internal
// detail (resolver addresses, socket errors).
func imageErrorReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errNotPublic):
		return "does not resolve to a public address"
	case errors.Is(err, errTooManyRedirects):
		return fmt.Sprintf("redirects more than %d times", maxImageRedirects)
	case errors.Is(err, errNotHTTPS):
		return "is not an https URL, or redirects to one that is not"
	case errors.As(err, &ne) && ne.Timeout():
		return "did not answer in time"
	}
	return "could not be downloaded"
}

// fetchFailure maps a transport error; a canceled request stays canceled.
func fetchFailure(ctx context.Context, rawURL string, err error) error {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return convertor.Errorf(convertor.ECanceled, "request canceled")
	}
	return imageError(rawURL, imageErrorReason(err))
}

// maxParallelImageFetches bounds the downloads one request makes at once.
const maxParallelImageFetches = 4

// remoteImage is an https image of a request: converted as an empty
// block, filled in once the request is admitted.
type remoteImage struct {
	url   string
	block *bedrock.ImageBlock
}

// remoteImages returns the https images of req with the empty blocks
// conversion refers to, when the gateway fetches image URLs.
func (s *Server) remoteImages(req *openai.ChatRequest) ([]remoteImage, map[string]*bedrock.ImageBlock) {
	if !s.cfg.ImageFetch || s.deps.Images == nil || !s.cfg.Features.Vision {
		return nil, nil
	}
	urls := convert.RemoteImageURLs(req)
	if len(urls) == 0 {
		return nil, nil
	}
	images := make([]remoteImage, len(urls))
	blocks := make(map[string]*bedrock.ImageBlock, len(urls))
	for i, u := range urls {
		images[i] = remoteImage{url: u, block: new(bedrock.ImageBlock)}
		blocks[u] = images[i].block
	}
	return images, blocks
}

// fetchImages downloads images into their blocks: at most
// maxParallelImageFetches at once for the request, and no more than the
// process's fetch slots (IMAGE_FETCH_CONCURRENCY) for all requests
// together, waiting for a slot while ctx lasts. The first failure stops
// the downloads still running or waiting: the request fails anyway.
func (s *Server) fetchImages(ctx context.Context, images []remoteImage) error {
	fctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	budget := NewImageBudget(s.cfg.ImageFetchMaxTotalBytes)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(maxParallelImageFetches, len(images)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(images) || fctx.Err() != nil {
					return
				}
				if err := s.fetchImage(fctx, images[i], budget); err != nil {
					stop(err) // only the first cause is kept
					return
				}
			}
		})
	}
	wg.Wait()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return convertor.Errorf(convertor.ETimeout, "The images of this request could not be fetched in time.")
	case ctx.Err() != nil:
		return convertor.Errorf(convertor.ECanceled, "request canceled")
	}
	return context.Cause(fctx)
}

// fetchImagesWhileConnected fetches images, canceling the downloads if the
// client hangs up meanwhile: they hang off upCtx, not the client, and
// could otherwise run on for a client that is gone. The request is then
// recorded as disconnected, and Bedrock is not called.
func (s *Server) fetchImagesWhileConnected(ctx *fasthttp.RequestCtx, x *exchange, upCtx context.Context, images []remoteImage) error {
	fctx, cancel := context.WithCancel(upCtx)
	defer cancel()
	var gone atomic.Bool
	stop := watchPeer(ctx.Conn(), func() {
		gone.Store(true)
		cancel()
	})
	err := s.fetchImages(fctx, images)
	stop()
	if gone.Load() {
		x.disconnected = true
		s.metrics.disconnects.Inc()
		return convertor.Errorf(convertor.ECanceled, "The client closed the connection while its images were fetched.")
	}
	return err
}

// fetchImage downloads one image in one of the process's fetch slots.
func (s *Server) fetchImage(ctx context.Context, img remoteImage, budget *ImageBudget) error {
	select {
	case s.imageSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.imageSlots }()
	b, err := s.deps.Images.Fetch(ctx, img.url, budget)
	if err != nil {
		return err
	}
	*img.block = b
	return nil
}
