package adminapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
)

// AuditPage is a page of the audit log.
type AuditPage struct {
	Entries    []*convertor.AuditEntry `json:"entries" doc:"Newest first"`
	NextCursor string                  `json:"next_cursor,omitempty"`
}

// AuditQuery selects audit entries; times are parsed like usage windows.
type AuditQuery struct {
	From, To, TZ                        string
	Actor, Action, Resource, ResourceID string
	Limit                               int
	Cursor                              string
}

// Audit returns a page of the audit log, newest first. Returns EInvalid
// for bad times, limits or cursors.
func (s *Service) Audit(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	loc, err := parseTZ(q.TZ)
	if err != nil {
		return nil, err
	}
	from, err := parseInstant("from", q.From, loc)
	if err != nil {
		return nil, err
	}
	to, err := parseInstant("to", q.To, loc)
	if err != nil {
		return nil, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, convertor.ParamErrorf("query.from", "from is not before to")
	}
	limit, err := pageLimit("limit", q.Limit)
	if err != nil {
		return nil, err
	}
	es, next, err := s.d.Audit.Audit(ctx, convertor.AuditFilter{
		From: from, To: to, Actor: q.Actor, Action: q.Action, Resource: q.Resource, ResourceID: q.ResourceID,
		Limit: limit, Cursor: q.Cursor,
	})
	if err != nil {
		return nil, asQuery(err)
	}
	if es == nil {
		es = []*convertor.AuditEntry{}
	}
	return &AuditPage{Entries: es, NextCursor: next}, nil
}

func (s *Server) registerAudit() {
	op(s, huma.Operation{
		OperationID: "list-audit", Method: http.MethodGet, Path: "/api/audit", Tags: []string{"Audit"},
		Summary:     "The audit log",
		Description: "Every admin change: who, what, when, the resource before and after (never a secret or a hash). Newest first.",
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *struct {
		From       string `query:"from" maxLength:"64" doc:"RFC 3339 or a date in tz"`
		To         string `query:"to" maxLength:"64"`
		TZ         string `query:"tz" maxLength:"64"`
		Actor      string `query:"actor" maxLength:"300"`
		Action     string `query:"action" enum:"key.create,key.update,key.rotate,key.revoke,route.put,route.delete,price.create"`
		Resource   string `query:"resource" enum:"key,route,price"`
		ResourceID string `query:"resource_id" maxLength:"400"`
		Limit      int    `query:"limit" minimum:"1" maximum:"500"`
		Cursor     string `query:"cursor" maxLength:"2048"`
	}) (*struct{ Body *AuditPage }, error) {
		p, err := s.svc.Audit(ctx, AuditQuery{
			From: in.From, To: in.To, TZ: in.TZ, Actor: in.Actor, Action: in.Action, Resource: in.Resource,
			ResourceID: in.ResourceID, Limit: in.Limit, Cursor: in.Cursor,
		})
		if err != nil {
			return nil, err
		}
		return &struct{ Body *AuditPage }{p}, nil
	})
}
