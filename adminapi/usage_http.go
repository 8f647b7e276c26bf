package adminapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
)

// WindowParams are the time parameters every usage view takes.
type WindowParams struct {
	From string `query:"from" maxLength:"64" doc:"Start, inclusive: RFC 3339 (2026-11-01T00:00:00Z) or a date in tz (2026-11-01). Rounded down to the hour (to the local midnight for daily buckets). Default: 24 hours (7 days for daily buckets) before to"`
	To   string `query:"to" maxLength:"64" doc:"End, exclusive, like from; rounded up. Default: the end of the current hour (day for daily buckets)"`
	TZ   string `query:"tz" maxLength:"64" doc:"IANA time zone of dates, buckets and returned times (Asia/Shanghai); default UTC"`
}

// FilterParams narrow a usage view to one key and/or model.
type FilterParams struct {
	KeyID string `query:"key_id" maxLength:"100" doc:"Only this key"`
	Model string `query:"model" maxLength:"128" doc:"Only this model (the name clients send)"`
}

// SeriesParams are the parameters of a usage series.
type SeriesParams struct {
	WindowParams
	FilterParams
	Granularity string `query:"granularity" enum:"hour,day" doc:"Bucket size; hour allows at most 31 days"`
	GroupBy     string `query:"group_by" enum:"none,model,key" doc:"One line per model, per key, or one line (default)"`
}

// TopParams are the parameters of a top list.
type TopParams struct {
	WindowParams
	FilterParams
	By     string `query:"by" enum:"key,model" doc:"Rank keys or models"`
	Metric string `query:"metric" enum:"cost,tokens,requests" doc:"Rank by (default cost)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" doc:"Entries, default 10"`
}

// RequestsParams are the parameters of a key's request log.
type RequestsParams struct {
	WindowParams
	KeyID  string `query:"key_id" maxLength:"100" doc:"The key (required)"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" doc:"Page size, default 50"`
	Cursor string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page"`
}

// csvOutput is a CSV download.
type csvOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func csvFile(name string, body []byte) *csvOutput {
	return &csvOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="` + name + `"`, Body: body}
}

// csvResponses documents a CSV download in the OpenAPI document.
func csvResponses() map[string]*huma.Response {
	return map[string]*huma.Response{"200": {
		Description: "CSV with a header row",
		Content:     map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: huma.TypeString}}},
	}}
}

// maxCSVRequests bounds a request-log download.
const maxCSVRequests = 100_000

func (s *Server) window(p WindowParams, granularity string) (*Window, error) {
	return ParseWindow(WindowQuery{From: p.From, To: p.To, TZ: p.TZ, Granularity: granularity}, s.svc.now())
}

func (s *Server) summary(ctx context.Context, in *struct {
	WindowParams
	FilterParams
}) (*Summary, error) {
	w, err := s.window(in.WindowParams, "")
	if err != nil {
		return nil, err
	}
	return s.svc.Summary(ctx, w, UsageFilter(in.FilterParams))
}

func (s *Server) series(ctx context.Context, in *SeriesParams) (*Series, error) {
	g := in.Granularity
	if g == "" {
		g = GranularityHour
	}
	w, err := s.window(in.WindowParams, g)
	if err != nil {
		return nil, err
	}
	return s.svc.Series(ctx, w, UsageFilter(in.FilterParams), in.GroupBy)
}

func (s *Server) top(ctx context.Context, in *TopParams) (*Top, error) {
	if in.By == "" {
		return nil, convertor.ParamErrorf("query.by", "by is required: key or model")
	}
	w, err := s.window(in.WindowParams, "")
	if err != nil {
		return nil, err
	}
	return s.svc.Top(ctx, w, UsageFilter(in.FilterParams), in.By, in.Metric, in.Limit)
}

func (s *Server) requests(ctx context.Context, in *RequestsParams) (*RequestLog, error) {
	w, err := s.window(in.WindowParams, "")
	if err != nil {
		return nil, err
	}
	return s.svc.Requests(ctx, w, in.KeyID, in.Limit, in.Cursor)
}

// allRequests reads every page of a key's log in the window for a
// download.
func (s *Server) allRequests(ctx context.Context, in *RequestsParams) (*RequestLog, error) {
	q := *in
	q.Limit = convertor.MaxPageSize
	all, err := s.requests(ctx, &q)
	if err != nil {
		return nil, err
	}
	for next := all.NextCursor; next != ""; {
		if len(all.Requests) >= maxCSVRequests {
			return nil, convertor.ParamErrorf("query.from", "more than %d requests in the window: narrow it", maxCSVRequests)
		}
		q.Cursor = next
		page, err := s.requests(ctx, &q)
		if err != nil {
			return nil, err
		}
		all.Requests = append(all.Requests, page.Requests...)
		next = page.NextCursor
	}
	all.NextCursor = ""
	return all, nil
}

func (s *Server) registerUsage() {
	const winDoc = " Every figure comes from the hourly UTC roll-ups: a day in tz is exactly its 24 (23 or 25 at a daylight-saving change) hours."
	tags := []string{"Usage"}
	bad := []int{http.StatusBadRequest}

	op(s, huma.Operation{
		OperationID: "usage-summary", Method: http.MethodGet, Path: "/api/usage/summary", Tags: tags,
		Summary:     "Totals of a window and the window before",
		Description: "Requests, errors, tokens by kind and cost, and the same for the window of the same length just before." + winDoc,
		Errors:      bad,
	}, func(ctx context.Context, in *struct {
		WindowParams
		FilterParams
	}) (*struct{ Body *Summary }, error) {
		v, err := s.summary(ctx, in)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *Summary }{v}, nil
	})
	op(s, huma.Operation{
		OperationID: "usage-summary-csv", Method: http.MethodGet, Path: "/api/usage/summary.csv", Tags: tags,
		Summary: "Totals of a window, as CSV", Description: "The summary's figures, one row per window." + winDoc,
		Errors: bad, Responses: csvResponses(),
	}, func(ctx context.Context, in *struct {
		WindowParams
		FilterParams
	}) (*csvOutput, error) {
		v, err := s.summary(ctx, in)
		if err != nil {
			return nil, err
		}
		return csvFile("usage-summary.csv", SummaryCSV(v)), nil
	})

	op(s, huma.Operation{
		OperationID: "usage-series", Method: http.MethodGet, Path: "/api/usage/series", Tags: tags,
		Summary:     "Usage over time",
		Description: "Hour or day buckets in tz, one line per model, per key, or in total, every bucket present." + winDoc,
		Errors:      bad,
	}, func(ctx context.Context, in *SeriesParams) (*struct{ Body *Series }, error) {
		v, err := s.series(ctx, in)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *Series }{v}, nil
	})
	op(s, huma.Operation{
		OperationID: "usage-series-csv", Method: http.MethodGet, Path: "/api/usage/series.csv", Tags: tags,
		Summary: "Usage over time, as CSV", Description: "One row per line and bucket." + winDoc,
		Errors: bad, Responses: csvResponses(),
	}, func(ctx context.Context, in *SeriesParams) (*csvOutput, error) {
		v, err := s.series(ctx, in)
		if err != nil {
			return nil, err
		}
		return csvFile("usage-series.csv", SeriesCSV(v)), nil
	})

	op(s, huma.Operation{
		OperationID: "usage-top", Method: http.MethodGet, Path: "/api/usage/top", Tags: tags,
		Summary: "Top keys or models", Description: "Ranked by cost, tokens or requests, with the rest summed as others." + winDoc,
		Errors: bad,
	}, func(ctx context.Context, in *TopParams) (*struct{ Body *Top }, error) {
		v, err := s.top(ctx, in)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *Top }{v}, nil
	})
	op(s, huma.Operation{
		OperationID: "usage-top-csv", Method: http.MethodGet, Path: "/api/usage/top.csv", Tags: tags,
		Summary: "Top keys or models, as CSV", Description: "One row per entry and one for the others." + winDoc,
		Errors: bad, Responses: csvResponses(),
	}, func(ctx context.Context, in *TopParams) (*csvOutput, error) {
		v, err := s.top(ctx, in)
		if err != nil {
			return nil, err
		}
		return csvFile("usage-top.csv", TopCSV(v)), nil
	})

	op(s, huma.Operation{
		OperationID: "usage-requests", Method: http.MethodGet, Path: "/api/usage/requests", Tags: tags,
		Summary:     "One key's request log",
		Description: "Each request of the key in the window, newest first, paged.",
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *RequestsParams) (*struct{ Body *RequestLog }, error) {
		v, err := s.requests(ctx, in)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *RequestLog }{v}, nil
	})
	op(s, huma.Operation{
		OperationID: "usage-requests-csv", Method: http.MethodGet, Path: "/api/usage/requests.csv", Tags: tags,
		Summary:     "One key's request log, as CSV",
		Description: "Every request of the key in the window (all pages, at most 100,000), newest first.",
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound}, Responses: csvResponses(),
	}, func(ctx context.Context, in *RequestsParams) (*csvOutput, error) {
		v, err := s.allRequests(ctx, in)
		if err != nil {
			return nil, err
		}
		return csvFile("usage-requests.csv", RequestsCSV(v)), nil
	})
}
