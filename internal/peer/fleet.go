package peer

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/routing"
)

// Fleet is a set of simulated peers, each on its own HTTPS listener: what
// luxncp serve starts for development.
type Fleet struct {
	Peers   []*Peer
	Servers []*host.Server
}

// NewFleet builds the peers of countries (nil: all of CountryCodes) with
// base's options (Country and Fail are set per peer; fail may be nil) and
// binds each to a free port on listenHost (e.g. 127.0.0.1), so the
// directory is known before serving.
func NewFleet(base Options, countries []string, listenHost string, fail map[string]Mode) (*Fleet, error) {
	if countries == nil {
		countries = CountryCodes
	}
	f := &Fleet{}
	for _, cc := range countries {
		o := base
		o.Country = strings.ToUpper(cc)
		o.Fail = fail[o.Country]
		p, err := New(o)
		if err != nil {
			f.Close()
			return nil, err
		}
		s := &host.Server{Name: "simulated NCP " + p.Country(), Addr: net.JoinHostPort(listenHost, "0"), Handler: p.Handler(), TLS: p.TLSConfig(), Log: base.Log}
		if err := s.Listen(); err != nil {
			f.Close()
			return nil, err
		}
		f.Peers = append(f.Peers, p)
		f.Servers = append(f.Servers, s)
	}
	return f, nil
}

// Directory returns the directory of the fleet's endpoints.
func (f *Fleet) Directory() (*routing.Static, error) {
	var entries []routing.Country
	for i, p := range f.Peers {
		entries = append(entries, p.DirectoryEntry("https://"+f.Servers[i].BoundAddr()))
	}
	return routing.NewStatic(entries...)
}

// Serve serves every peer until ctx ends and returns the first error.
func (f *Fleet) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.Servers))
	for i, s := range f.Servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Serve(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close releases listeners of a fleet that will not be served.
func (f *Fleet) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range f.Servers {
		_ = s.Serve(ctx)
	}
}
