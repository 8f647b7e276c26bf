package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
)

// Deps are the stores the admin API reads and changes. Every field is
// required.
type Deps struct {
	Keys   convertor.APIKeyStore
	Usage  convertor.UsageStore
	Stats  convertor.StatsStore
	Prices convertor.PriceStore
	Routes convertor.RouteStore
	Audit  convertor.AuditStore
}

func (d Deps) validate() error {
	if d.Keys == nil || d.Usage == nil || d.Stats == nil || d.Prices == nil || d.Routes == nil || d.Audit == nil {
		return errors.New("adminapi: every store of Deps is required")
	}
	return nil
}

// Service is what operators can do, whatever the door they come through:
// the HTTP handlers and the convertor CLI call the same methods, so a
// change means the same and is audited the same either way. Safe for
// concurrent use.
type Service struct {
	d   Deps
	log *slog.Logger
	// now is the clock; tests set it.
	now func() time.Time
	// defaults are the built-in routes.
	defaults []convertor.Route
}

// ServiceOption changes a Service.
type ServiceOption func(*Service)

// WithClock makes the service read the time from now, for tests.
func WithClock(now func() time.Time) ServiceOption { return func(s *Service) { s.now = now } }

// NewService returns a Service over d.
func NewService(d Deps, log *slog.Logger, opts ...ServiceOption) (*Service, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{d: d, log: log, now: time.Now, defaults: convertor.DefaultRoutes}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	// Name identifies the person or tool: a Cognito user, "admin token",
	// "cli:alice".
	Name string
	// Role is "admin" or "viewer".
	Role string
	// Mode is how they signed in: cognito, token, none or cli.
	Mode string
	// RequestID is the admin API request, empty for the CLI.
	RequestID string
}

// auditWriteAttempts and auditWriteTimeout bound how hard a change's audit
// entry is written: the change is made by then and cannot be taken back.
const (
	auditWriteAttempts = 3
	auditWriteTimeout  = 5 * time.Second
	auditRetryDelay    = 100 * time.Millisecond
)

// audit records a change made by a. before and after are views safe to
// show (never a secret or a hash); nil leaves the side empty. A change
// whose entry cannot be stored is logged at Error with the entry itself,
// so the record survives in the log: the change has been made and the
// caller must hear that it was.
func (s *Service) audit(ctx context.Context, a Actor, action, resource, id string, before, after any) {
	e := &convertor.AuditEntry{
		ID: ulid.Make().String(), Time: s.now().UTC(),
		Actor: a.Name, ActorRole: a.Role, AuthMode: a.Mode,
		Action: action, Resource: resource, ResourceID: id,
		RequestID: a.RequestID,
	}
	e.Before, e.After = rawJSON(before), rawJSON(after)
	// The request may end (a client that hung up) while the entry is
	// written; the change it made stands, so its entry must too.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	var err error
	for attempt := range auditWriteAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(auditRetryDelay << attempt):
			}
		}
		if err = s.d.Audit.PutAudit(ctx, e); err == nil {
			return
		}
	}
	entry, _ := json.Marshal(e)
	s.log.Error("audit entry not stored; it is kept in this log line", "action", action, "resource_id", id,
		"request_id", a.RequestID, "error", err, "audit_entry", string(entry))
}

// asQuery names a store's complaint about a parameter (a cursor, a
// limit) as the query parameter the caller sent.
func asQuery(err error) error {
	var ce *convertor.Error
	if errors.As(err, &ce) && ce.Param != "" && location(ce.Param) == "body."+ce.Param {
		c := *ce
		c.Param = "query." + ce.Param
		return &c
	}
	return err
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
