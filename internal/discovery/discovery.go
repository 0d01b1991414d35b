// Package discovery is the country directory of Country B built from eHDSI
// dynamic discovery: for each partner, the SML (DNS) names its SMP, the SMP
// serves signed metadata per transaction (ITI-55, ITI-38, ITI-39, ITI-41)
// and the International Search Mask; each document is verified against the
// trust store before it is read (internal/smp), each query is audited
// (EHDSI-193, OpenNCP's SMP::Query), endpoints outside their activation and
// expiration dates are dropped, and the endpoint certificate the metadata
// names is pinned by the routing client. The last good result per country
// is kept (in memory and in a cache file, var/directory.json locally) so a
// DNS or SMP outage does not stop routing; an override file, when present,
// replaces discovery for the countries it lists.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/smp"
)

// Locator names a participant's SMP (smp.Locator over DNS).
type Locator interface {
	Lookup(ctx context.Context, participant string) (string, error)
}

// Auditor records the SMP query events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// Config of a discovering directory. Zero values take the documented
// defaults.
type Config struct {
	// Countries are the partners discovered (ISO alpha-2).
	Countries []string
	Locator   Locator
	// HTTP fetches from SMPs (default: a client with a 10 s timeout).
	HTTP     *http.Client
	Verifier smp.Verifier
	// CacheFile keeps the last good result (the directory JSON format);
	// read at start, written after each successful discovery. Empty: none.
	CacheFile string
	// Override lists countries routed as written (no discovery).
	Override *routing.Static
	Audit    Auditor
	// MaxAge: a result younger than this is used without asking again
	// (default 1 h); older, Lookup refreshes it and falls back to it when
	// discovery fails.
	MaxAge time.Duration
	// MaxBytes caps one SMP reply (default 1 MiB).
	MaxBytes int64
	Now      func() time.Time
	Log      *slog.Logger
}

type entry struct {
	c  routing.Country
	at time.Time // zero: from the cache file, never confirmed in this run
}

// Directory implements routing.Directory by discovery. Safe for concurrent
// use.
type Directory struct {
	cfg Config
	mu  sync.Mutex
	got map[string]entry
}

var _ routing.Directory = (*Directory)(nil)

// New returns a directory; it reads the cache file when there is one (a
// damaged cache is logged and ignored).
func New(cfg Config) (*Directory, error) {
	if cfg.Locator == nil {
		return nil, errors.New("discovery: no SML locator")
	}
	if cfg.Verifier.Trust == nil {
		return nil, errors.New("discovery: no trust store")
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	d := &Directory{cfg: cfg, got: map[string]entry{}}
	if cfg.CacheFile != "" {
		if st, err := routing.LoadFile(cfg.CacheFile); err == nil {
			cs, _ := st.Countries(context.Background())
			for _, c := range cs {
				d.got[c.Code] = entry{c: c}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			cfg.Log.Warn("discovery cache ignored", "file", cfg.CacheFile, "error", err.Error())
		}
	}
	return d, nil
}

func (d *Directory) now() time.Time { return clock.Or(d.cfg.Now)() }

// Lookup implements routing.Directory.
func (d *Directory) Lookup(ctx context.Context, cc string) (routing.Country, error) {
	cc = strings.ToUpper(strings.TrimSpace(cc))
	if d.cfg.Override != nil {
		if c, err := d.cfg.Override.Lookup(ctx, cc); err == nil {
			return c, nil
		}
	}
	if len(cc) != 2 || strings.Trim(cc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return routing.Country{}, &routing.Error{Kind: routing.ErrUnknownCountry, Country: cc, Public: "no national contact point is known for this country code"}
	}
	now := d.now()
	d.mu.Lock()
	e, ok := d.got[cc]
	d.mu.Unlock()
	if !ok || e.at.IsZero() || now.Sub(e.at) >= d.cfg.MaxAge {
		c, err := d.Resolve(ctx, cc)
		switch {
		case err == nil:
			e, ok = entry{c: c, at: now}, true
		case ok:
			d.cfg.Log.WarnContext(ctx, "discovery failed: routing by the last good metadata", "country", cc, "since", e.at, "error", err.Error())
		default:
			return routing.Country{}, err
		}
	}
	return active(e.c, now)
}

// active keeps the endpoints usable at now.
func active(c routing.Country, now time.Time) (routing.Country, error) {
	out := c
	out.Endpoints = nil
	for _, e := range c.Endpoints {
		if e.Active(now) {
			out.Endpoints = append(out.Endpoints, e)
		}
	}
	if len(out.Endpoints) == 0 {
		return routing.Country{}, &routing.Error{Kind: routing.ErrUnknownCountry, Country: c.Code,
			Public: "the contact point of " + c.Code + " publishes no endpoint valid today"}
	}
	// Re-validate (certificates parsed) as routing.Static does.
	st, err := routing.NewStatic(out)
	if err != nil {
		return routing.Country{}, &routing.Error{Kind: routing.ErrUntrusted, Country: c.Code, Public: "the metadata of " + c.Code + " is unusable", Cause: err}
	}
	return st.Lookup(context.Background(), c.Code)
}

// Countries implements routing.Directory: every configured, overridden or
// cached country that resolves, by code.
func (d *Directory) Countries(ctx context.Context) ([]routing.Country, error) {
	set := map[string]bool{}
	for _, cc := range d.cfg.Countries {
		set[strings.ToUpper(cc)] = true
	}
	if d.cfg.Override != nil {
		ov, _ := d.cfg.Override.Countries(ctx)
		for _, c := range ov {
			set[c.Code] = true
		}
	}
	d.mu.Lock()
	for cc := range d.got {
		set[cc] = true
	}
	d.mu.Unlock()
	codes := make([]string, 0, len(set))
	for cc := range set {
		codes = append(codes, cc)
	}
	sort.Strings(codes)
	var out []routing.Country
	for _, cc := range codes {
		if c, err := d.Lookup(ctx, cc); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// Refresh discovers every configured country again (the schedule's job);
// a failure keeps that country's last good result.
func (d *Directory) Refresh(ctx context.Context) error {
	var errs []error
	for _, cc := range d.cfg.Countries {
		if _, err := d.Resolve(ctx, cc); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run refreshes every interval until ctx ends.
func (d *Directory) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Refresh(ctx); err != nil {
				d.cfg.Log.WarnContext(ctx, "discovery refresh incomplete", "error", err.Error())
			}
		}
	}
}

// Resolve discovers country cc now: SML, then each document's signed
// metadata from the SMP (each fetch audited). On success the result is
// kept and the cache file rewritten.
func (d *Directory) Resolve(ctx context.Context, cc string) (routing.Country, error) {
	cc = strings.ToUpper(cc)
	participant := smp.Participant(cc)
	fail := func(kind routing.Kind, public string, cause error) (routing.Country, error) {
		return routing.Country{}, &routing.Error{Kind: kind, Country: cc, Public: public, Code: ehdsi.ErrGenericConnectionNotPossible, Cause: cause}
	}
	base, err := d.cfg.Locator.Lookup(ctx, participant)
	if errors.Is(err, smp.ErrNotRegistered) {
		return fail(routing.ErrUnknownCountry, "no national contact point is registered for "+cc, err)
	}
	if err != nil {
		return fail(routing.ErrDown, "the contact point of "+cc+" could not be discovered (SML unavailable)", err)
	}
	now := d.now()
	var metas []*smp.ServiceMetadata
	for _, doc := range smp.DocumentIDs() {
		b, u, err := smp.Fetch(ctx, d.cfg.HTTP, base, participant, doc, d.cfg.MaxBytes)
		if errors.Is(err, smp.ErrNotPublished) {
			d.audit(ctx, u, err)
			continue
		}
		if err == nil {
			var m *smp.ServiceMetadata
			m, _, err = d.cfg.Verifier.Verify(b, participant, doc, now)
			if err == nil {
				metas = append(metas, m)
			}
		}
		d.audit(ctx, u, err)
		if err != nil {
			kind, public := routing.ErrDown, "the metadata of "+cc+" could not be fetched (SMP unavailable)"
			if errors.Is(err, smp.ErrBadMetadata) || errors.Is(err, smp.ErrUnsigned) {
				kind, public = routing.ErrUntrusted, "the metadata of "+cc+" is not signed by a trusted publisher"
			}
			return fail(kind, public, err)
		}
	}
	c, err := smp.Country(cc, metas, now)
	if err != nil {
		return fail(routing.ErrUnknownCountry, "the contact point of "+cc+" publishes no usable endpoint", err)
	}
	if c.HomeCommunityID == "" && d.cfg.Override != nil {
		// Not published: taken from the override file's entry, if any.
		if o, err := d.cfg.Override.Lookup(ctx, cc); err == nil {
			c.HomeCommunityID, c.Name, c.SignsDocuments = o.HomeCommunityID, o.Name, o.SignsDocuments
		}
	}
	if _, err := routing.NewStatic(c); err != nil {
		return fail(routing.ErrUntrusted, "the metadata of "+cc+" is unusable", err)
	}
	d.mu.Lock()
	d.got[cc] = entry{c: c, at: now}
	d.mu.Unlock()
	d.writeCache(ctx)
	return c, nil
}

// audit records one SMP query (EHDSI-193); a failed write is logged (the
// query is not a patient-data transaction).
func (d *Directory) audit(ctx context.Context, target string, err error) {
	if d.cfg.Audit == nil {
		return
	}
	ev := audit.Event{Type: audit.EventSMPQuery, Side: audit.SideB, Target: target}
	if u, perr := url.Parse(target); perr == nil {
		ev.Provider.Host = u.Hostname()
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			ev.Provider.IP = ip.String()
		}
	}
	if err != nil {
		ev.Outcome, ev.ErrorCode = audit.OutcomeSeriousFailure, string(ehdsi.ErrGeneric)
		ev.ErrorText = "SMP query failed"
		if errors.Is(err, smp.ErrNotPublished) {
			ev.Outcome, ev.ErrorText = audit.OutcomeMinorFailure, "not published"
		}
	}
	if aerr := d.cfg.Audit.Record(ctx, ev); aerr != nil {
		d.cfg.Log.ErrorContext(ctx, "audit write failed", "event", string(audit.EventSMPQuery), "error", aerr.Error())
	}
}

// writeCache writes the last good results (atomically).
func (d *Directory) writeCache(ctx context.Context) {
	if d.cfg.CacheFile == "" {
		return
	}
	d.mu.Lock()
	cs := make([]routing.Country, 0, len(d.got))
	for _, e := range d.got {
		cs = append(cs, e.c)
	}
	d.mu.Unlock()
	st, err := routing.NewStatic(cs...)
	if err == nil {
		var b []byte
		if b, err = st.Marshal(); err == nil {
			tmp := d.cfg.CacheFile + ".tmp"
			if err = os.MkdirAll(filepath.Dir(tmp), 0o755); err == nil {
				if err = os.WriteFile(tmp, b, 0o644); err == nil {
					err = os.Rename(tmp, d.cfg.CacheFile)
				}
			}
		}
	}
	if err != nil {
		d.cfg.Log.WarnContext(ctx, "discovery cache not written", "file", d.cfg.CacheFile, "error", fmt.Sprint(err))
	}
}
