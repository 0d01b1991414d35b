package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// TestCheckLuxncpTarget: --expect-luxncp accepts only a gateway whose
// certificate chains to the given CA and whose /healthz says luxncp.
func TestCheckLuxncpTarget(t *testing.T) {
	ca := filepath.Join(testkit.PKIDir(t), pki.CAFile)
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok","service":"nginx"}`))
	})
	foreign := httptest.NewTLSServer(http.HandlerFunc(node.Healthz))
	defer foreign.Close()
	cases := []struct {
		name, target, want string
	}{
		{"ours", testkit.Server(t, http.HandlerFunc(node.Healthz)).URL, ""},
		{"another CA", foreign.URL, "its certificate does not chain to " + ca},
		{"another program", testkit.Server(t, other).URL, `its /healthz says "nginx", not luxncp`},
		{"nothing", "https://" + freeLoopback(t), "start it with make run ADDR="},
		{"not https", "http://127.0.0.1:8443", `--target: "http://127.0.0.1:8443" is not a URL like https://127.0.0.1:8443`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLuxncpTarget(context.Background(), tc.target, ca)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.name != "nothing" && tc.name != "not https" && !strings.Contains(err.Error(), "make run ADDR=") {
				t.Errorf("no way out in %v", err)
			}
		})
	}
}
