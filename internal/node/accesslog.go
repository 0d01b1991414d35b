package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/matricule"
)

// accessLog serves GET /api/v1/audit/patients/{matricule} to the patient
// (a token whose matricule is that patient's, in any form) or to a
// data-protection officer (idtoken.RoleDataProtection). Every read, and
// every refusal, is audited under the patient (audit.EventAccessLogRead)
// before the answer: a read that cannot be audited is not served.
func (n *Node) accessLog() http.Handler {
	inner := audit.AccessHandler(n.AuditReader, n.Recorder.Resolve)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		m := r.PathValue("matricule")
		var c *idtoken.Claims
		refuse := func(status int, code, msg string) {
			n.auditLogRead(ctx, m, c, &accessRefusal{code: code, msg: msg})
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", idtoken.Challenge)
			}
			writeAPIError(w, status, code, msg)
		}
		if n.Tokens == nil {
			refuse(http.StatusServiceUnavailable, "identity-provider-unconfigured", "luxncp has no national identity provider configured; contact the operator")
			return
		}
		var err error
		c, err = n.Tokens.Verify(ctx, idtoken.Bearer(r.Header.Get("Authorization")))
		if err != nil {
			te := idtoken.AsError(err)
			n.Log.InfoContext(ctx, "access log refused", "code", te.Code)
			c = nil
			refuse(te.HTTPStatus(), te.Code, te.Message)
			return
		}
		keys, err := audit.QueryKeys(ctx, m, n.Recorder.Resolve)
		switch {
		case errors.Is(err, audit.ErrBadMatricule):
			writeAPIError(w, http.StatusBadRequest, "bad-matricule", "bad matricule: expected 13 digits (or the legacy 11)")
			return
		case err != nil:
			writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "audit log unavailable")
			return
		}
		if !c.HasRole(idtoken.RoleDataProtection) && !n.ownLog(ctx, c, keys) {
			refuse(http.StatusForbidden, "not-your-log", "a patient may read only their own access log")
			return
		}
		if err := n.auditLogRead(ctx, m, c, nil); err != nil {
			writeAPIError(w, http.StatusServiceUnavailable, "unavailable", "the read could not be audited; retry later")
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// ownLog reports whether the token is the patient's whose keys are asked.
func (n *Node) ownLog(ctx context.Context, c *idtoken.Claims, keys []string) bool {
	if c.Matricule == "" {
		return false
	}
	mine, err := audit.QueryKeys(ctx, c.Matricule, n.Recorder.Resolve)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(mine, func(k string) bool { return slices.Contains(keys, k) })
}

type accessRefusal struct{ code, msg string }

// auditLogRead records a read of patient m's access log by c (nil: not
// authenticated); refused is nil for a read that is served.
func (n *Node) auditLogRead(ctx context.Context, m string, c *idtoken.Claims, refused *accessRefusal) error {
	ev := audit.Event{Type: audit.EventAccessLogRead, HCP: audit.HCP{ID: "unauthenticated", Country: n.Cfg.Country}}
	if _, err := matricule.Parse(m); err == nil {
		ev.Patients = []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: m}}
	}
	if c != nil {
		ev.HCP.ID, ev.HCP.Issuer, ev.HCP.Name = c.Subject, c.Issuer, c.Name
		switch {
		case c.HasRole(idtoken.RoleDataProtection):
			ev.HCP.RoleDisplay = "data-protection officer"
		case c.Matricule != "":
			ev.HCP.RoleDisplay = "patient"
		case c.IsProfessional():
			ev.HCP.RoleDisplay, ev.HCP.Organisation = "health professional", c.Organisation
		}
	}
	ev.SetOutcome(nil)
	if refused != nil {
		ev.SetOutcome(ehdsi.Sender(ehdsi.ErrGeneric, refused.code+": "+refused.msg, nil))
	}
	err := n.Recorder.Record(ctx, ev)
	if err != nil {
		n.Log.ErrorContext(ctx, "audit write failed", "event", string(ev.Type), "error", err.Error())
	}
	return err
}

// writeAPIError answers {"error":{"code","message"}} as /api/v1 does.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	_, _ = w.Write(append(b, '\n'))
}
