package convert

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// Bedrock's image limits for Converse (Message content restrictions):
// at most 20 images per request, each at most 3.75 MB. The byte cap is
// read as MiB so that nothing Bedrock accepts is refused here.
const (
	maxImages     = 20
	maxImageBytes = 3_932_160
)

// imageFormats maps the image media types of data URLs onto Converse image
// formats; "jpg" is a common mislabel of jpeg.
var imageFormats = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/jpg":  "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// image converts an image_url part of messages[i].content[j].
func (c *requestConverter) image(i, j int, iu *openai.ImageURL) (*bedrock.ImageBlock, error) {
	param := partParam(i, j, "image_url.url")
	switch {
	case !c.opts.Features.Vision:
		return nil, convertor.ParamErrorf(partParam(i, j, "type"), "image input is disabled on this gateway")
	case !c.caps.Vision:
		return nil, convertor.ParamErrorf(partParam(i, j, "type"), "this model (%s) does not take image input", c.caps.Family)
	case iu == nil || iu.URL == "":
		return nil, convertor.ParamErrorf(param, "image_url.url is required")
	}
	c.images++
	if c.images > maxImages {
		return nil, convertor.ParamErrorf(param, "too many images: Bedrock takes at most %d images per request", maxImages)
	}
	u := iu.URL
	switch {
	case hasPrefixFold(u, "data:"):
		return dataURLImage(param, u)
	case isHTTPS(u):
		img := c.opts.Images[u]
		if img == nil {
			return nil, convertor.ParamErrorf(param, "image URLs are not enabled on this gateway; send the image as a data URL (data:image/png;base64,...)")
		}
		return img, nil
	case hasPrefixFold(u, "http://"):
		return nil, convertor.ParamErrorf(param, "image URLs must use https; or send the image as a data URL")
	default:
		return nil, convertor.ParamErrorf(param, "image_url.url must be an https URL or a data URL (data:image/png;base64,...)")
	}
}

// dataURLImage decodes a base64 image data URL. The format sent to Bedrock
// is the one the bytes show, not the declared one: Bedrock refuses an image
// whose bytes do not match its format, and mislabelled data URLs (a JPEG
// declared as image/png) are common.
func dataURLImage(param, u string) (*bedrock.ImageBlock, error) {
	header, payload, ok := strings.Cut(u[len("data:"):], ",")
	if !ok {
		return nil, convertor.ParamErrorf(param, "malformed data URL: expected data:image/<format>;base64,<data>")
	}
	mediaType, params, _ := strings.Cut(header, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	if !strings.HasPrefix(mediaType, "image/") {
		return nil, convertor.ParamErrorf(param, "data URL is not an image (media type %q); send png, jpeg, gif or webp", mediaType)
	}
	if _, ok := imageFormats[mediaType]; !ok {
		return nil, convertor.ParamErrorf(param, "image format %q is not supported: Claude takes png, jpeg, gif and webp", mediaType)
	}
	if !isBase64Param(params) {
		return nil, convertor.ParamErrorf(param, "image data URLs must be base64-encoded (data:%s;base64,...)", mediaType)
	}
	if payload == "" {
		return nil, convertor.ParamErrorf(param, "image data URL carries no data")
	}
	if base64.StdEncoding.DecodedLen(len(payload)) > maxImageBytes+3 {
		return nil, convertor.ParamErrorf(param, "image is larger than the 3.75 MB Bedrock allows")
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		// Some encoders drop the padding.
		if data, err = base64.RawStdEncoding.DecodeString(payload); err != nil {
			return nil, convertor.ParamErrorf(param, "image data is not valid base64")
		}
	}
	if len(data) > maxImageBytes {
		return nil, convertor.ParamErrorf(param, "image is larger than the 3.75 MB Bedrock allows")
	}
	format := sniffImage(data)
	if format == "" {
		return nil, convertor.ParamErrorf(param, "image data is not a png, jpeg, gif or webp image")
	}
	return &bedrock.ImageBlock{Format: format, Source: bedrock.ImageSource{Bytes: data}}, nil
}

// isBase64Param reports whether the last parameter of a data URL header
// (after the media type) is "base64".
func isBase64Param(params string) bool {
	if i := strings.LastIndexByte(params, ';'); i >= 0 {
		params = params[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(params), "base64")
}

// sniffImage returns the Converse format of an image from its magic bytes,
// or "" when it is none of the formats Claude takes.
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
