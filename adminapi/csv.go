package adminapi

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/openai-api-convertor/convertor/replay"
)

// The CSV of a view holds exactly the figures of its JSON: the same rows,
// the same integers, costs in micro-dollars and, for spreadsheets, in
// dollars with six decimals (no float ever touches money). Times are
// RFC 3339 in the view's time zone.

var totalsHeader = []string{
	"requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens",
	"cache_write_tokens", "total_tokens", "cost_micros", "cost_usd",
}

func (t Totals) csv() []string {
	return []string{
		itoa(t.Requests), itoa(t.Errors), itoa(t.InputTokens), itoa(t.OutputTokens), itoa(t.CacheReadTokens),
		itoa(t.CacheWriteTokens), itoa(t.TotalTokens), itoa(t.CostMicros), replay.USD(t.CostMicros),
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func csvTime(t time.Time) string { return t.Format(time.RFC3339) }

func writeCSV(header []string, rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(rows) // writes to memory: it cannot fail
	return buf.Bytes()
}

// SummaryCSV has a row for the window and one for the previous window.
func SummaryCSV(s *Summary) []byte {
	header := append([]string{"period", "from", "to", "tz", "key_id", "model", "keys_with_usage"}, totalsHeader...)
	var rows [][]string
	for _, p := range []struct {
		name string
		p    Period
	}{{"current", s.Current}, {"previous", s.Previous}} {
		keys := ""
		if p.p.KeysWithUsage != nil {
			keys = strconv.Itoa(*p.p.KeysWithUsage)
		}
		rows = append(rows, append([]string{p.name, csvTime(p.p.From), csvTime(p.p.To), s.TZ, s.KeyID, s.Model, keys}, p.p.Totals.csv()...))
	}
	return writeCSV(header, rows)
}

// SeriesCSV has a row per group and bucket, zeros included.
func SeriesCSV(s *Series) []byte {
	header := append([]string{"bucket_start", "bucket_end", "tz", "group", "name"}, totalsHeader...)
	var rows [][]string
	ends := append(s.Buckets[1:len(s.Buckets):len(s.Buckets)], s.To)
	for _, l := range s.Lines {
		for i, p := range l.Points {
			rows = append(rows, append([]string{csvTime(s.Buckets[i]), csvTime(ends[i]), s.TZ, l.Group, l.Name}, p.csv()...))
		}
	}
	return writeCSV(header, rows)
}

// TopCSV has a row per entry and one for the others.
func TopCSV(t *Top) []byte {
	header := append([]string{"rank", "by", "id", "name", "share", "from", "to", "tz"}, totalsHeader...)
	var rows [][]string
	for _, e := range t.Items {
		rows = append(rows, append([]string{strconv.Itoa(e.Rank), t.By, e.ID, e.Name, strconv.FormatFloat(e.Share, 'f', 6, 64),
			csvTime(t.From), csvTime(t.To), t.TZ}, e.Totals.csv()...))
	}
	if t.Others.Requests > 0 {
		rows = append(rows, append([]string{"", t.By, "(others)", "", "", csvTime(t.From), csvTime(t.To), t.TZ}, t.Others.csv()...))
	}
	return writeCSV(header, rows)
}

// RequestsCSV has a row per request of the page.
func RequestsCSV(l *RequestLog) []byte {
	header := append([]string{"time", "id", "request_id", "key_id", "model", "bedrock_model_id", "status", "http_status",
		"error_type", "streamed", "disconnected", "estimated", "unpriced", "latency_ms", "ttft_ms"}, totalsHeader...)
	var rows [][]string
	for _, r := range l.Requests {
		rows = append(rows, append([]string{csvTime(r.Time), r.ID, r.RequestID, l.KeyID, r.Model, r.BedrockModelID, r.Status,
			strconv.Itoa(r.HTTPStatus), r.ErrorType, strconv.FormatBool(r.Streamed), strconv.FormatBool(r.Disconnected),
			strconv.FormatBool(r.Estimated), strconv.FormatBool(r.Unpriced), itoa(r.LatencyMs), itoa(r.TTFTMs)}, r.Totals.csv()...))
	}
	return writeCSV(header, rows)
}
