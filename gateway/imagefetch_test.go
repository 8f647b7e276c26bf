package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

func TestIsPublicAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"52.95.110.1", true},
		{"2606:4700:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"169.254.0.1", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"fd00:ec2::254", false}, // EC2 IPv6 metadata
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:10.0.0.1", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::", false},      // 6to4 of 127.0.0.1
		{"198.18.0.1", false},
		{"192.0.2.1", false},
	}
	for _, tt := range tests {
		if got := isPublicAddr(netip.MustParseAddr(tt.addr)); got != tt.public {
			t.Errorf("isPublicAddr(%s) = %v, want %v", tt.addr, got, tt.public)
		}
	}
	if isPublicAddr(netip.Addr{}) {
		t.Error("isPublicAddr(zero) = true")
	}
}

func TestGuardDialControl(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "169.254.169.254:80", "[::ffff:10.1.2.3]:443", "garbage"} {
		if err := guardDialControl("tcp", addr, nil); err == nil {
			t.Errorf("guardDialControl(%s) = nil, want refusal", addr)
		}
	}
	if err := guardDialControl("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("guardDialControl(public) = %v", err)
	}
}

// Tiny valid-looking images: only the magic bytes matter to the sniffer.
var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 32)...)
	jpegBytes = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0}, 32)...)
	gifBytes  = append([]byte("GIF89a"), bytes.Repeat([]byte{0}, 32)...)
	webpBytes = append([]byte("RIFF\x20\x00\x00\x00WEBPVP8 "), bytes.Repeat([]byte{0}, 32)...)
)

// imageServer is a TLS image host for example.com (the name its test
// certificate holds); the fetcher reaches it through a dialer that sends
// every address to it, as DNS would send a public name.
func imageServer(t *testing.T, handler http.HandlerFunc, cfg ImageFetchConfig) *HTTPImageFetcher {
	t.Helper()
	srv := quietTLSServer(handler)
	t.Cleanup(srv.Close)
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	var d net.Dialer
	cfg.RootCAs = pool
	cfg.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 1 << 20
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return NewHTTPImageFetcher(cfg)
}

func TestHTTPImageFetcher_Fetch(t *testing.T) {
	t.Parallel()
	images := map[string][]byte{"/a.png": pngBytes, "/b.jpg": jpegBytes, "/c.gif": gifBytes, "/d.webp": webpBytes, "/e.txt": []byte("hello, not an image")}
	f := imageServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/a.png", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-http":
			http.Redirect(w, r, "http://example.com/a.png", http.StatusFound)
		case "/to-metadata":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data", http.StatusFound)
		case "/big":
			w.Write(append(pngBytes, bytes.Repeat([]byte{1}, 2<<20)...))
		case "/missing":
			http.NotFound(w, r)
		default:
			b, ok := images[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			// A lying Content-Type: the bytes decide.
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
		}
	}, ImageFetchConfig{})
	ctx := context.Background()
	for path, format := range map[string]string{"/a.png": "png", "/b.jpg": "jpeg", "/c.gif": "gif", "/d.webp": "webp", "/redirect": "png"} {
		img, err := f.Fetch(ctx, "https://example.com"+path, nil)
		if err != nil {
			t.Errorf("Fetch(%s) = %v", path, err)
			continue
		}
		if img.Format != format || len(img.Source.Bytes) == 0 {
			t.Errorf("Fetch(%s) format = %q, want %q", path, img.Format, format)
		}
	}
	for path, want := range map[string]string{
		"/e.txt":       "not a png, jpeg, gif or webp",
		"/big":         "larger than",
		"/missing":     "HTTP 404",
		"/loop":        "redirects more than 3 times",
		"/to-http":     "redirects to one that is not",
		"/to-metadata": "public address",
	} {
		_, err := f.Fetch(ctx, "https://example.com"+path, nil)
		checkImageError(t, path, err, want)
	}
}

func checkImageError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ce *convertor.Error
	if !errors.As(err, &ce) || ce.Code != convertor.EInvalid {
		t.Errorf("Fetch(%s) = %v, want an EInvalid error", what, err)
		return
	}
	if !strings.Contains(ce.Message, want) {
		t.Errorf("Fetch(%s) message %q does not say %q", what, ce.Message, want)
	}
	if strings.Contains(ce.Message, "dial") || strings.Contains(ce.Message, "connect") || strings.Contains(ce.Message, "tcp") {
		t.Errorf("Fetch(%s) message %q leaks internal detail", what, ce.Message)
	}
}

func TestHTTPImageFetcher_Guard(t *testing.T) {
	t.Parallel()
	// The real guarded dialer: loopback must be refused however it is named.
	srv := quietTLSServer(func(w http.ResponseWriter, _ *http.Request) { w.Write(pngBytes) })
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	f := NewHTTPImageFetcher(ImageFetchConfig{MaxBytes: 1 << 20, Timeout: 5 * time.Second,
		RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	for _, host := range []string{"127.0.0.1", "[::1]", "localhost", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1"} {
		u := "https://" + host + ":" + strconv.Itoa(port) + "/a.png"
		_, err := f.Fetch(context.Background(), u, nil)
		checkImageError(t, u, err, "public address")
	}
	for _, u := range []string{"http://example.com/a.png", "ftp://example.com/a.png", "https:///nohost.png", "://bad"} {
		_, err := f.Fetch(context.Background(), u, nil)
		var ce *convertor.Error
		if !errors.As(err, &ce) || ce.Code != convertor.EInvalid {
			t.Errorf("Fetch(%s) = %v, want EInvalid", u, err)
		}
	}
}

func TestHTTPImageFetcher_Timeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	// The handler answers nothing until the test ends: returning when the
	// client gives up would race an empty 200 against the client's timeout.
	f := imageServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
	}, ImageFetchConfig{Timeout: 200 * time.Millisecond})
	defer close(release)
	_, err := f.Fetch(context.Background(), "https://example.com/slow.png", nil)
	checkImageError(t, "slow", err, "did not answer in time")
}

func TestServer_FetchImages(t *testing.T) {
	t.Parallel()
	f := imageServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.NotFound(w, r)
			return
		}
		w.Write(pngBytes)
	}, ImageFetchConfig{})
	ts := newTestServer(t, nil, func(c *Config, d *Deps) { c.ImageFetch, d.Images = true, f })
	images := func(paths ...string) []remoteImage {
		out := make([]remoteImage, len(paths))
		for i, p := range paths {
			out[i] = remoteImage{url: "https://example.com" + p, block: new(bedrock.ImageBlock)}
		}
		return out
	}
	good := images("/1.png", "/2.png", "/3.png", "/4.png", "/5.png")
	if err := ts.fetchImages(context.Background(), good); err != nil {
		t.Fatalf("fetchImages() = %v", err)
	}
	for _, img := range good {
		if img.block.Format != "png" {
			t.Errorf("block of %s = %+v, want the fetched png", img.url, img.block)
		}
	}
	if err := ts.fetchImages(context.Background(), images("/1.png", "/bad", "/3.png")); err == nil || !strings.Contains(err.Error(), "/bad") {
		t.Errorf("fetchImages() error = %v, want the failing URL named", err)
	}
}

// quietTLSServer is an httptest TLS server that does not log the handshakes
// the guard refuses.
func quietTLSServer(h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}
