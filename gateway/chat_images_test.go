package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// imageHost is a TLS image host that counts what it serves. Paths say what
// to answer: /big/… a PNG of bigSize bytes, sent once a gated fetch has
// arrived; /gate/… a PNG once the test sends on release, or nothing if the
// client gives up first (counted in canceled); anything else a small PNG.
type imageHost struct {
	fetcher *HTTPImageFetcher
	release chan struct{}
	bigSize int

	mu          sync.Mutex
	fetches     int
	inflight    int
	maxInflight int
	canceled    int
	gated       chan struct{} // closed when the first gated fetch arrives
	gatedOnce   sync.Once
	done        chan struct{} // closed when the test ends: gated fetches return
}

func newImageHost(t *testing.T) *imageHost {
	t.Helper()
	h := &imageHost{release: make(chan struct{}), bigSize: 600 << 10, gated: make(chan struct{}), done: make(chan struct{})}
	// A timeout far past any wait of the tests: what ends a download
	// there is the gateway, never the clock.
	h.fetcher = imageServer(t, h.serve, ImageFetchConfig{Timeout: time.Hour})
	return h
}

// endAtCleanup lets gated fetches return when the test ends; call it after
// starting the gateway, so this runs before the gateway's shutdown waits
// for the requests they hold.
func (h *imageHost) endAtCleanup(t *testing.T) {
	t.Cleanup(func() { close(h.done) })
}

func (h *imageHost) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.fetches++
	h.inflight++
	h.maxInflight = max(h.maxInflight, h.inflight)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inflight--
		h.mu.Unlock()
	}()
	switch {
	case strings.HasPrefix(r.URL.Path, "/gate/"):
		h.gatedOnce.Do(func() { close(h.gated) })
		select {
		case <-h.release:
		case <-r.Context().Done():
			h.mu.Lock()
			h.canceled++
			h.mu.Unlock()
			return
		case <-h.done:
			return
		}
	case strings.HasPrefix(r.URL.Path, "/big/"):
		select {
		case <-h.gated:
		case <-r.Context().Done():
			return
		}
		w.Write(append(pngBytes[:len(pngBytes):len(pngBytes)], bytes.Repeat([]byte{1}, h.bigSize-len(pngBytes))...))
		return
	}
	w.Write(pngBytes)
}

// state returns the fetches so far, those in flight, the most in flight
// at once and the gated fetches whose client gave up.
func (h *imageHost) state() (fetches, inflight, maxInflight, canceled int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fetches, h.inflight, h.maxInflight, h.canceled
}

// imageRequest is a chat request with the given image URLs.
func imageRequest(urls ...string) string {
	parts := []map[string]any{{"type": "text", "text": "What is in these?"}}
	for _, u := range urls {
		parts = append(parts, map[string]any{"type": "image_url", "image_url": map[string]string{"url": u}})
	}
	b, err := json.Marshal(map[string]any{
		"model":    "claude-sonnet-4-5",
		"messages": []map[string]any{{"role": "user", "content": parts}},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hostURLs returns n image URLs on the test host, path prefix p.
func hostURLs(p string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://example.com%s%d.png", p, i)
	}
	return urls
}

const smallPNGDataURL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="

// TestServer_ImagesOverCapNotFetched: a request with more images than
// Bedrock takes is refused before any is downloaded, whatever mix of URLs
// and data URLs it has.
func TestServer_ImagesOverCapNotFetched(t *testing.T) {
	t.Parallel()
	h := newImageHost(t)
	ts := newTestServer(t, nil, func(c *Config, d *Deps) { c.ImageFetch, d.Images = true, h.fetcher })
	data20 := make([]string, 20)
	for i := range data20 {
		data20[i] = smallPNGDataURL
	}
	for _, tt := range []struct {
		name  string
		urls  []string
		param string
	}{
		{"Thousand", hostURLs("/", 1000), "messages[0].content[21].image_url.url"},
		{"TwentyOne", hostURLs("/", 21), "messages[0].content[21].image_url.url"},
		{"TwentyDataURLsAndOne", append(data20, "https://example.com/one.png"), "messages[0].content[21].image_url.url"},
	} {
		r := ts.post(t, imageRequest(tt.urls...))
		if r.status != http.StatusBadRequest {
			t.Fatalf("%s: status = %d, want 400; body %s", tt.name, r.status, r.body)
		}
		e := openAIError(t, r)
		if deref(e.Param) != tt.param || e.Message != "too many images: Bedrock takes at most 20 images per request" {
			t.Errorf("%s: param, message = %q, %q", tt.name, deref(e.Param), e.Message)
		}
	}
	if n, _, _, _ := h.state(); n != 0 {
		t.Errorf("image host saw %d fetches, want none", n)
	}
	// The host works: twenty images are fetched.
	if r := ts.post(t, imageRequest(hostURLs("/", 20)...)); r.status != http.StatusOK {
		t.Fatalf("twenty images: status = %d; body %s", r.status, r.body)
	}
	if n, _, _, _ := h.state(); n != 20 {
		t.Errorf("image host saw %d fetches for twenty images, want 20", n)
	}
}

// TestServer_RefusedImagesNotFetched: a key refused by its request limit,
// its token limit or its budget costs no image download.
func TestServer_RefusedImagesNotFetched(t *testing.T) {
	t.Parallel()
	h := newImageHost(t)
	ls := newLimitedServer(t, func(c *Config, d *Deps) {
		c.ImageFetch, d.Images = true, h.fetcher
		d.Spend = fixedSpend(2_000_000)
	})
	body := imageRequest(hostURLs("/", 3)...)

	rpm, _ := createKey(t, ls.keys, func(k *convertor.APIKey) { k.RPM = 1 })
	if r := ls.post(t, rpm, helloRequest); r.status != http.StatusOK {
		t.Fatalf("first request: status = %d; body %s", r.status, r.body)
	}
	wantRefused(t, "request limit", ls.post(t, rpm, body), "rate_limit_exceeded", ratelimit.ReasonRequests)
	wantRefused(t, "request limit, remembered", ls.post(t, rpm, body), "rate_limit_exceeded", ratelimit.ReasonRequests)

	// Three images are estimated at 4,800 tokens before any is fetched.
	tpm, _ := createKey(t, ls.keys, func(k *convertor.APIKey) { k.TPM = 4000 })
	wantRefused(t, "token limit", ls.post(t, tpm, body), "rate_limit_exceeded", ratelimit.ReasonTokens)

	broke, _ := createKey(t, ls.keys, func(k *convertor.APIKey) { k.MonthlyBudgetMicros = 1_000_000 })
	wantRefused(t, "budget", ls.post(t, broke, body), "insufficient_quota", "insufficient_quota")

	if n, _, _, _ := h.state(); n != 0 {
		t.Errorf("image host saw %d fetches for refused requests, want none", n)
	}
	ok, _ := createKey(t, ls.keys, nil)
	if r := ls.post(t, ok, body); r.status != http.StatusOK {
		t.Fatalf("key within its limits: status = %d; body %s", r.status, r.body)
	}
	if n, _, _, _ := h.state(); n != 3 {
		t.Errorf("image host saw %d fetches for an admitted request, want 3", n)
	}
}

// TestServer_ImageFetchConcurrency: the image downloads of all requests
// together never exceed IMAGE_FETCH_CONCURRENCY; the others wait their
// turn and every request is served.
func TestServer_ImageFetchConcurrency(t *testing.T) {
	t.Parallel()
	const (
		bound    = 3
		requests = 4
		images   = 4 // each request fetches up to 4 at once: 16 wanted
	)
	h := newImageHost(t)
	ts := newTestServer(t, nil, func(c *Config, d *Deps) {
		c.ImageFetch, d.Images, c.ImageFetchConcurrency = true, h.fetcher, bound
	})
	h.endAtCleanup(t)
	statuses := make(chan int, requests)
	for i := range requests {
		go func() {
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions",
				strings.NewReader(imageRequest(hostURLs(fmt.Sprintf("/gate/%d-", i), images)...)))
			if err != nil {
				statuses <- 0
				return
			}
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Let the gated fetches go one at a time, each once the bound is
	// reached again, so the waiting ones always have a slot to race for.
	for released := 0; released < requests*images; released++ {
		waitFor(t, "the bound in flight", func() bool {
			_, in, _, _ := h.state()
			return in >= min(bound, requests*images-released)
		})
		h.release <- struct{}{}
	}
	for range requests {
		if s := <-statuses; s != http.StatusOK {
			t.Errorf("status = %d, want 200", s)
		}
	}
	if n, _, most, _ := h.state(); n != requests*images || most != bound {
		t.Errorf("fetches, most in flight = %d, %d; want %d, %d", n, most, requests*images, bound)
	}
}

// TestServer_ImageFetchTotalBytes: a request whose downloads pass
// IMAGE_FETCH_MAX_TOTAL_BYTES is stopped there: 400, and its other
// downloads are canceled or never started.
func TestServer_ImageFetchTotalBytes(t *testing.T) {
	t.Parallel()
	h := newImageHost(t) // big images are 600 KB
	ts := newTestServer(t, nil, func(c *Config, d *Deps) {
		c.ImageFetch, d.Images, c.ImageFetchMaxTotalBytes = true, h.fetcher, 1<<20
	})
	h.endAtCleanup(t)
	urls := append([]string{"https://example.com/gate/0.png"}, hostURLs("/big/", 9)...)
	r := ts.post(t, imageRequest(urls...))
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400; body %s", r.status, r.body)
	}
	e := openAIError(t, r)
	if deref(e.Code) != "invalid_image_url" || !strings.Contains(e.Message, "larger than the 1048576 bytes this server downloads for one request") {
		t.Errorf("code, message = %q, %q", deref(e.Code), e.Message)
	}
	waitFor(t, "the gated download canceled", func() bool {
		_, _, _, canceled := h.state()
		return canceled == 1
	})
	// Four downloads at once, the gated one and three big ones; of those
	// at most one can end below the bound and make room for a fifth.
	if n, _, _, _ := h.state(); n > 5 {
		t.Errorf("image host saw %d fetches, want at most 5 of %d", n, len(urls))
	}
	if n := len(ts.fake.requestsSeen()); n != 0 {
		t.Errorf("Bedrock saw %d requests, want none", n)
	}
}
