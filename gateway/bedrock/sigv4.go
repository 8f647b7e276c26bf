package bedrock

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/valyala/fasthttp"
)

// signer signs Converse calls with AWS Signature Version 4. Every call has
// the same shape — POST, no query, the same five or six headers — so the
// canonical request is written straight into one buffer instead of through
// the SDK's general signer, which builds header maps, sorts and joins
// strings and allocates about sixty times a request (BenchmarkSign).
// TestSigner_MatchesSDK holds its Authorization header to the SDK's,
// byte for byte. It is safe for concurrent use.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
type signer struct {
	region, service string
	key             atomic.Pointer[signingKey]
}

// signingKey is the key derived for one day and one secret; it is kept
// until either changes.
type signingKey struct {
	secret, day string
	key         []byte
	// macs holds HMAC-SHA256 hashes keyed with key. One that has been
	// Reset keeps its keyed inner and outer states and restores them
	// instead of hashing the padded key again, which a fresh hmac.New
	// does twice per request and allocates for.
	macs sync.Pool
}

// signature computes HMAC-SHA256(key, msg) into sig.
func (k *signingKey) signature(msg []byte, sig *[sha256.Size]byte) {
	mac, _ := k.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, k.key)
	}
	mac.Write(msg)
	mac.Sum(sig[:0])
	mac.Reset()
	k.macs.Put(mac)
}

const (
	sigAlgorithm   = "AWS4-HMAC-SHA256"
	amzDateLayout  = "20060102T150405Z"
	signedNoToken  = "accept;content-length;content-type;host;x-amz-date"
	signedWithToke = signedNoToken + ";x-amz-security-token"
)

// sign adds X-Amz-Date, X-Amz-Security-Token (for temporary credentials)
// and Authorization to req, whose Host, Accept and Content-Type are host,
// accept and "application/json" and whose body is bodyLen bytes with the
// hex SHA-256 payloadHash. escapedPath is the path as sent; SigV4 escapes
// it once more for every service but S3.
func (s *signer) sign(req *fasthttp.Request, creds aws.Credentials, host, escapedPath, accept string, bodyLen int, payloadHash []byte, now time.Time) {
	now = now.UTC()
	var dateBuf [16]byte
	amzDate := now.AppendFormat(dateBuf[:0], amzDateLayout)
	day := amzDate[:8]
	signedHeaders := signedNoToken
	if creds.SessionToken != "" {
		signedHeaders = signedWithToke
	}

	buf := make([]byte, 0, 512)
	// The canonical request.
	buf = append(buf, "POST\n"...)
	buf = appendURIEscaped(buf, escapedPath)
	buf = append(buf, "\n\naccept:"...)
	buf = appendTrimmedValue(buf, accept)
	buf = append(buf, "\ncontent-length:"...)
	buf = strconv.AppendInt(buf, int64(bodyLen), 10)
	buf = append(buf, "\ncontent-type:application/json\nhost:"...)
	buf = appendTrimmedValue(buf, host)
	buf = append(buf, "\nx-amz-date:"...)
	buf = append(buf, amzDate...)
	if creds.SessionToken != "" {
		buf = append(buf, "\nx-amz-security-token:"...)
		buf = appendTrimmedValue(buf, creds.SessionToken)
	}
	buf = append(buf, "\n\n"...)
	buf = append(buf, signedHeaders...)
	buf = append(buf, '\n')
	buf = append(buf, payloadHash...)
	canonicalHash := sha256.Sum256(buf)

	// The string to sign, reusing the buffer.
	buf = append(buf[:0], sigAlgorithm+"\n"...)
	buf = append(buf, amzDate...)
	buf = append(buf, '\n')
	scopeStart := len(buf)
	buf = append(buf, day...)
	buf = append(buf, '/')
	buf = append(buf, s.region...)
	buf = append(buf, '/')
	buf = append(buf, s.service...)
	buf = append(buf, "/aws4_request"...)
	scopeEnd := len(buf)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, canonicalHash[:])
	var sig [sha256.Size]byte
	s.keyFor(creds.SecretAccessKey, day).signature(buf, &sig)

	// The Authorization header, after the string to sign in the buffer.
	auth := len(buf)
	buf = append(buf, sigAlgorithm+" Credential="...)
	buf = append(buf, creds.AccessKeyID...)
	buf = append(buf, '/')
	buf = append(buf, buf[scopeStart:scopeEnd]...)
	buf = append(buf, ", SignedHeaders="...)
	buf = append(buf, signedHeaders...)
	buf = append(buf, ", Signature="...)
	buf = hex.AppendEncode(buf, sig[:])

	req.Header.SetBytesV("X-Amz-Date", amzDate)
	if creds.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
	}
	req.Header.SetBytesV("Authorization", buf[auth:])
}

// keyFor returns the signing key of secret for day, derived once a day.
func (s *signer) keyFor(secret string, day []byte) *signingKey {
	if k := s.key.Load(); k != nil && k.day == string(day) && k.secret == secret {
		return k
	}
	key := hmacSHA256([]byte("AWS4"+secret), string(day))
	key = hmacSHA256(key, s.region)
	key = hmacSHA256(key, s.service)
	key = hmacSHA256(key, "aws4_request")
	k := &signingKey{secret: secret, day: string(day), key: key}
	s.key.Store(k)
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// appendURIEscaped escapes an already escaped path once more, as SigV4's
// canonical URI wants for services other than S3: every byte but the
// unreserved ones and '/' is percent-encoded (so "%3A" becomes "%253A").
func appendURIEscaped(dst []byte, path string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(path); i++ {
		c := path[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// appendTrimmedValue appends a header value as SigV4 canonicalises it:
// leading and trailing spaces removed, inner runs of spaces made one.
func appendTrimmedValue(dst []byte, v string) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			space = len(dst) > start
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}
