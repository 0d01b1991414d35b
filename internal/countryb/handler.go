package countryb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/routing"
)

// Handler returns the /api/v1/ HTTP API. It must sit behind a TLS listener
// that requests client certificates (host.Server / host.WithTLSPeer, or the
// Lambda edge): every request needs a client certificate that chains to
// ClientTrust and names an allowed country (the calling system), and a
// bearer token of the national identity provider (the professional; see
// identity.go and docs/identity.md).
//
//	GET  /api/v1/countries                                   the directory and circuit states
//	POST /api/v1/countries/{cc}/patients/search              XCPD
//	POST /api/v1/countries/{cc}/documents/list               XCA query
//	POST /api/v1/countries/{cc}/documents/retrieve           XCA retrieve (original | translated | html)
//	POST /api/v1/countries/{cc}/dispensations                eDispensation submit (XDR)
//	POST /api/v1/countries/{cc}/dispensations/discard        eDispensation discard (XDR)
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/countries", s.countries)
	mux.HandleFunc("POST /api/v1/countries/{cc}/patients/search", jsonOp(s, s.Search))
	mux.HandleFunc("POST /api/v1/countries/{cc}/documents/list", jsonOp(s, s.List))
	mux.HandleFunc("POST /api/v1/countries/{cc}/dispensations", jsonOp(s, s.Dispense))
	mux.HandleFunc("POST /api/v1/countries/{cc}/dispensations/discard", jsonOp(s, s.Discard))
	mux.HandleFunc("POST /api/v1/countries/{cc}/documents/retrieve", s.retrieve)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &APIError{Status: 404, Code: "not-found", Message: "no such API endpoint: see /api/v1/countries"})
	})
	return secureHeaders(s.authenticate(mux))
}

// strictCSP is the Content-Security-Policy of every response but the
// rendered HTML (which allows its own style and script by hash): nothing
// loads, nothing runs, nothing frames it.
const strictCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"

// secureHeaders sets the headers every Country B response carries:
// a strict CSP and no MIME sniffing (a browser must not guess that JSON
// or XML is HTML).
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", strictCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func (s *Service) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _ := host.PeerFrom(r.Context())
		if s.cfg.ClientTrust == nil {
			s.writeError(w, r, &APIError{Status: 500, Code: "internal", Message: "no client trust store configured"})
			return
		}
		cc, err := peer.Verify(s.cfg.ClientTrust, s.now())
		if err != nil {
			s.writeError(w, r, &APIError{Status: 401, Code: "client-certificate", Message: "a trusted client certificate is required", Cause: err})
			return
		}
		ok := false
		for _, c := range s.cfg.ClientCountries {
			if strings.EqualFold(c, cc) {
				ok = true
			}
		}
		if !ok {
			s.writeError(w, r, &APIError{Status: 403, Code: "client-country", Message: "the client certificate's country may not use this API"})
			return
		}
		// The certificate names the calling system; the token, the person.
		s.identify(w, r, next)
	})
}

func validCC(cc string) bool {
	if len(cc) != 2 {
		return false
	}
	for _, c := range cc {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func decode(r *http.Request, max int64, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request body is not valid JSON for this endpoint: " + err.Error())
	}
	return nil
}

func jsonOp[Req any, Resp any](s *Service, op func(context.Context, string, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cc := r.PathValue("cc")
		if !validCC(cc) {
			s.writeError(w, r, badRequest("the country must be an ISO 3166-1 alpha-2 code"))
			return
		}
		var req Req
		if err := decode(r, s.cfg.MaxBody, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		resp, err := op(r.Context(), cc, req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Service) retrieve(w http.ResponseWriter, r *http.Request) {
	cc := r.PathValue("cc")
	if !validCC(cc) {
		s.writeError(w, r, badRequest("the country must be an ISO 3166-1 alpha-2 code"))
		return
	}
	var req RetrieveRequest
	if err := decode(r, s.cfg.MaxBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Retrieve(r.Context(), cc, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wantsJSON(r) {
		// The metadata that headers cannot carry (the untranslated terms,
		// by code) comes with the document in one JSON answer.
		writeJSON(w, http.StatusOK, res.envelope(strings.ToUpper(cc), req))
		return
	}
	h := w.Header()
	h.Set("Content-Type", res.ContentType)
	h.Set("X-Luxncp-Signed", strconv.FormatBool(res.Signed))
	if !res.Signed {
		h.Set("X-Luxncp-Signature", "not-signed-by-sending-country")
	}
	h.Set("X-Luxncp-Attempts", strconv.Itoa(res.Attempts))
	if len(res.Warnings) > 0 {
		h.Set("X-Luxncp-Warnings", strconv.Itoa(len(res.Warnings)))
	}
	if res.Report != nil {
		h.Set("X-Luxncp-Terms", strconv.Itoa(res.Report.Terms))
		h.Set("X-Luxncp-Translated", strconv.Itoa(res.Report.Translated))
		h.Set("X-Luxncp-Untranslated", strconv.Itoa(len(res.Report.Untranslated)))
	}
	h.Set("Cache-Control", "no-store")
	if strings.HasPrefix(res.ContentType, "text/html") {
		h.Set("Content-Security-Policy", s.renderer.ContentSecurityPolicy())
	} else {
		// The XML formats are data to save, never a page to open.
		h.Set("Content-Disposition", `attachment; filename="`+res.Filename+`"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Data)
}

// wantsJSON reports whether the caller asked for the JSON envelope
// (Accept: application/json) rather than the document itself.
func wantsJSON(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		for _, part := range strings.Split(a, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return true
			}
		}
	}
	return false
}

// CountryInfo is one directory entry as the API lists it.
type CountryInfo struct {
	Country      string   `json:"country"`
	Name         string   `json:"name,omitempty"`
	Participant  string   `json:"participant"`
	Transactions []string `json:"transactions"`
	Circuit      string   `json:"circuit,omitempty"`
	// Identifiers are the national patient identifiers a search may use.
	Identifiers []routing.IdentifierType `json:"identifiers,omitempty"`
}

func (s *Service) countries(w http.ResponseWriter, r *http.Request) {
	rc, ok := s.cfg.Router.(interface {
		Directory() routing.Directory
		BreakerState(string) string
	})
	if !ok {
		writeJSON(w, 200, map[string]any{"countries": []CountryInfo{}})
		return
	}
	cs, err := rc.Directory().Countries(r.Context())
	if err != nil {
		s.writeError(w, r, &APIError{Status: 503, Code: "directory-unavailable", Message: "the directory of contact points is unavailable", Cause: err})
		return
	}
	out := []CountryInfo{}
	for _, c := range cs {
		ci := CountryInfo{Country: c.Code, Name: c.Name, Participant: c.Participant, Circuit: rc.BreakerState(c.Code), Identifiers: c.SearchMask}
		for _, e := range c.Endpoints {
			ci.Transactions = append(ci.Transactions, string(e.Transaction))
		}
		out = append(out, ci)
	}
	writeJSON(w, 200, map[string]any{"countries": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers {"error": {...}} and logs the cause once.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = toAPI(err, "").(*APIError)
	}
	if ae.Status == 0 {
		ae.Status = 500
	}
	s.log().InfoContext(r.Context(), "api request failed", "code", ae.Code, "status", ae.Status, "ehdsi", string(ae.EHDSI), "country", ae.Country)
	if ae.Cause != nil {
		s.log().DebugContext(r.Context(), "api request failed: cause", "code", ae.Code, "cause", ae.Cause.Error())
	}
	writeJSON(w, ae.Status, map[string]any{"error": ae})
}
