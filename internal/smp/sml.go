package smp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrNotRegistered: the SML has no record of the participant.
var ErrNotRegistered = errors.New("participant not registered in the SML")

// Locator finds a participant's SMP through the SML's DNS: a U-NAPTR
// query on NAPTRHost (service Meta:SMP, flag U, the SMP URL in the
// regexp's replacement), falling back to the CNAME name (the SMP is then
// http://<CNAME name>/), as the eDelivery client does.
type Locator struct {
	// Zone is the SML DNS zone, e.g. ehealth.acc.edelivery.tech.ec.europa.eu.
	Zone string
	// Server is the DNS server host:port to ask; empty: the first
	// nameserver of /etc/resolv.conf.
	Server string
	// Timeout bounds one DNS exchange (default 3 s).
	Timeout time.Duration
}

func (l Locator) server() (string, error) {
	if l.Server != "" {
		return l.Server, nil
	}
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cfg.Servers) == 0 {
		return "", fmt.Errorf("sml: no DNS server configured: %v", err)
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}

// Lookup returns the SMP base URL of participant.
func (l Locator) Lookup(ctx context.Context, participant string) (string, error) {
	srv, err := l.server()
	if err != nil {
		return "", err
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	c := &dns.Client{Timeout: timeout}
	ask := func(name string, qtype uint16) (*dns.Msg, error) {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		r, _, err := c.ExchangeContext(ctx, m, srv)
		if err != nil {
			return nil, fmt.Errorf("sml: %s: %w", name, err)
		}
		if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			return nil, fmt.Errorf("sml: %s: %s", name, dns.RcodeToString[r.Rcode])
		}
		return r, nil
	}
	name := NAPTRHost(participant, ParticipantScheme, l.Zone)
	r, err := ask(name, dns.TypeNAPTR)
	if err != nil {
		return "", err
	}
	var best *dns.NAPTR
	for _, rr := range r.Answer {
		n, ok := rr.(*dns.NAPTR)
		if !ok || !strings.EqualFold(n.Flags, "U") || n.Service != NAPTRService {
			continue
		}
		if best == nil || n.Order < best.Order || (n.Order == best.Order && n.Preference < best.Preference) {
			best = n
		}
	}
	if best != nil {
		return naptrURL(best.Regexp)
	}
	cname := CNAMEHost(participant, ParticipantScheme, l.Zone)
	r, err = ask(cname, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	if len(r.Answer) > 0 {
		return "http://" + strings.ToLower(cname) + "/", nil
	}
	return "", fmt.Errorf("%w: %s", ErrNotRegistered, participant)
}

// naptrURL applies a U-NAPTR regexp of the form !^.*$!<URL>! (the only
// form the SML publishes: the whole name replaced by the URL).
func naptrURL(re string) (string, error) {
	if len(re) < 3 {
		return "", fmt.Errorf("sml: NAPTR regexp %q", re)
	}
	d := re[:1]
	parts := strings.Split(re[1:], d)
	if len(parts) < 2 || (parts[0] != "^.*$" && parts[0] != ".*") {
		return "", fmt.Errorf("sml: NAPTR regexp %q is not a whole-name replacement", re)
	}
	u := parts[1]
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("sml: NAPTR URL %q is not http(s)", u)
	}
	return u, nil
}

// SML is a local Service Metadata Locator: a DNS server on loopback that
// answers the U-NAPTR record of every registered participant. luxncp serve
// and the tests run it in place of the eHDSI SML.
type SML struct {
	Zone string

	mu      sync.Mutex
	records map[string]string // lower-case FQDN → SMP URL
	down    bool
	udp     *dns.Server
	addr    string
}

// Register points participant at the SMP smpURL.
func (s *SML) Register(participant, smpURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[string]string{}
	}
	s.records[strings.ToLower(dns.Fqdn(NAPTRHost(participant, ParticipantScheme, s.Zone)))] = smpURL
}

// SetDown makes the server refuse every query (SERVFAIL), for tests of an
// SML outage.
func (s *SML) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Start listens on addr (UDP, e.g. 127.0.0.1:0) and serves until Close.
func (s *SML) Start(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("sml: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = s.udp.ActivateAndServe() }()
	<-started
	return nil
}

// Addr is the bound address (host:port).
func (s *SML) Addr() string { return s.addr }

// Close stops the server.
func (s *SML) Close() error {
	if s.udp == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.udp.ShutdownContext(ctx)
}

func (s *SML) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	s.mu.Lock()
	down := s.down
	var u string
	var ok bool
	if len(req.Question) == 1 {
		u, ok = s.records[strings.ToLower(req.Question[0].Name)]
	}
	s.mu.Unlock()
	switch {
	case down:
		m.Rcode = dns.RcodeServerFailure
	case !ok:
		m.Rcode = dns.RcodeNameError
	case req.Question[0].Qtype == dns.TypeNAPTR || req.Question[0].Qtype == dns.TypeANY:
		m.Answer = append(m.Answer, &dns.NAPTR{
			Hdr:   dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeNAPTR, Class: dns.ClassINET, Ttl: 60},
			Order: 100, Preference: 10, Flags: "U", Service: NAPTRService, Regexp: "!^.*$!" + u + "!", Replacement: ".",
		})
	}
	_ = w.WriteMsg(m)
}
