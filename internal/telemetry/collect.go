package telemetry

import (
	"bufio"
	"context"
	"crypto/x509"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
)

// peakRSS reports the process's peak resident set (VmHWM of
// /proc/self/status, Linux): what a load run needs to know, which the
// sampled process_resident_memory_bytes can miss.
type peakRSS struct{}

var peakRSSDesc = prometheus.NewDesc("luxncp_process_peak_resident_memory_bytes", "Peak resident memory of the process (VmHWM, Linux only).", nil, nil)

func (peakRSS) Describe(ch chan<- *prometheus.Desc) { ch <- peakRSSDesc }

func (peakRSS) Collect(ch chan<- prometheus.Metric) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				ch <- prometheus.MustNewConstMetric(peakRSSDesc, prometheus.GaugeValue, kb*1024)
			}
			return
		}
	}
}

// WatchBreaker exports whether the national breaker fails calls fast now
// (1 open, 0 closed).
func (t *Telemetry) WatchBreaker(b interface{ Open() bool }) {
	t.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "luxncp_national_breaker_open", Help: "1 while the national backend's circuit breaker fails calls at once, else 0.",
	}, func() float64 {
		if b.Open() {
			return 1
		}
		return 0
	}))
}

// WatchOutbox exports the eDispensation outbox's pending depth and the age
// of its oldest pending message, read from the store at each scrape.
func (t *Telemetry) WatchOutbox(a outbox.Admin) {
	t.Registry.MustRegister(&outboxCollector{admin: a, now: t.now})
}

var (
	outboxDepthDesc = prometheus.NewDesc("luxncp_outbox_pending_messages", "eDispensation effects accepted and not yet delivered to the national backend.", nil, nil)
	outboxAgeDesc   = prometheus.NewDesc("luxncp_outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox message (0 when none).", nil, nil)
	outboxErrDesc   = prometheus.NewDesc("luxncp_outbox_read_errors_total", "Scrapes whose outbox read failed.", nil, nil)
)

type outboxCollector struct {
	admin outbox.Admin
	now   func() time.Time
	errs  float64
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxAgeDesc
	ch <- outboxErrDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := c.admin.List(ctx, outbox.StatePending)
	if err != nil {
		c.errs++ // Collect calls are serialised per registry Gather
		ch <- prometheus.MustNewConstMetric(outboxErrDesc, prometheus.CounterValue, c.errs)
		return
	}
	var oldest time.Time
	for _, m := range ms {
		if oldest.IsZero() || m.Accepted.Before(oldest) {
			oldest = m.Accepted
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(len(ms)))
	ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(outboxErrDesc, prometheus.CounterValue, c.errs)
}

// WatchTrustList exports the trust list's reload state, checked (and
// reloaded when due) at each scrape: an alert on
// luxncp_trust_list_reload_failing catches a list change that did not
// take effect.
func (t *Telemetry) WatchTrustList(trust *pki.TrustStore) {
	t.Registry.MustRegister(&trustCollector{trust: trust, now: t.now})
}

var (
	trustFailingDesc = prometheus.NewDesc("luxncp_trust_list_reload_failing",
		"1 while the trust list cannot be reloaded (the last good list stays in force, changes are not applied), else 0.", nil, nil)
	trustFailuresDesc = prometheus.NewDesc("luxncp_trust_list_reload_failures_total",
		"Failed reloads of the trust list since the process started.", nil, nil)
	trustEntriesDesc = prometheus.NewDesc("luxncp_trust_list_entries",
		"Entries of the trust list in force.", nil, nil)
)

type trustCollector struct {
	trust *pki.TrustStore
	now   func() time.Time
}

func (c *trustCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- trustFailingDesc
	ch <- trustFailuresDesc
	ch <- trustEntriesDesc
}

func (c *trustCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.trust.Check(c.now())
	failing := 0.0
	if st.Err != nil {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(trustFailingDesc, prometheus.GaugeValue, failing)
	ch <- prometheus.MustNewConstMetric(trustFailuresDesc, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(trustEntriesDesc, prometheus.GaugeValue, float64(st.Entries))
}

// Own is one of luxncp's own certificates (its seal, its TLS certificate).
type Own struct {
	Role pki.Role
	Cert *x509.Certificate
}

// WatchCertificates exports the days until each certificate expires: own
// (luxncp's seal and TLS certificate) and every entry of the trust list,
// read at each scrape (the list reloads).
func (t *Telemetry) WatchCertificates(country string, own []Own, trust *pki.TrustStore) {
	t.Registry.MustRegister(&certCollector{country: country, own: own, trust: trust, now: t.now})
}

var certDesc = prometheus.NewDesc("luxncp_certificate_expiry_days",
	"Days until the certificate's NotAfter (negative: expired), for own certificates (owner=self) and each trust-list entry (owner=partner).",
	[]string{"owner", "country", "role", "subject", "serial"}, nil)

type certCollector struct {
	country string
	own     []Own
	trust   *pki.TrustStore
	now     func() time.Time
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certDesc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	seen := map[string]bool{}
	emit := func(owner, country string, role pki.Role, cert *x509.Certificate) {
		if cert == nil {
			return
		}
		serial := cert.SerialNumber.Text(16)
		key := owner + "|" + country + "|" + string(role) + "|" + serial
		if seen[key] {
			return
		}
		seen[key] = true
		days := cert.NotAfter.Sub(now).Hours() / 24
		ch <- prometheus.MustNewConstMetric(certDesc, prometheus.GaugeValue, days, owner, country, string(role), cert.Subject.CommonName, serial)
	}
	for _, o := range c.own {
		emit("self", c.country, o.Role, o.Cert)
	}
	if c.trust != nil {
		for _, e := range c.trust.Entries() {
			emit("partner", e.Country, e.Role, e.Cert)
		}
	}
}
