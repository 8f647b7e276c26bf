package auth

import "context"

// Role is what a principal may do in the admin API.
type Role string

// Roles.
const (
	// RoleAdmin may read and change everything: keys, prices, routes.
	RoleAdmin Role = "admin"
	// RoleViewer may read only: dashboards, usage, configuration.
	RoleViewer Role = "viewer"
)

// Cognito groups that grant a role. A user in both is an admin.
const (
	GroupAdmin  = "admin"
	GroupViewer = "viewer"
)

// Principal is who made an admin request; it goes into the audit log.
type Principal struct {
	// Subject identifies the principal for good: the Cognito sub, "token"
	// for ADMIN_TOKEN, "anonymous" for ADMIN_AUTH=none.
	Subject string `json:"subject"`
	// Name is for people reading the log: the Cognito username, or a
	// description of the token or of the missing authentication.
	Name string `json:"name"`
	// Email is the user's email from a Cognito ID token; empty otherwise.
	Email string `json:"email,omitempty"`
	// Role is what the principal may do.
	Role Role `json:"role"`
	// Mode is how the principal was authenticated.
	Mode Mode `json:"mode"`
	// Groups are the Cognito groups the token lists, all of them.
	Groups []string `json:"groups,omitempty"`
}

// CanWrite reports whether p may change anything; viewers may only read.
func (p *Principal) CanWrite() bool {
	return p != nil && p.Role == RoleAdmin
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal WithPrincipal stored in ctx; ok is false
// when there is none.
func FromContext(ctx context.Context) (p *Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
