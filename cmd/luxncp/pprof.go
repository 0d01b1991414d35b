package main

import (
	"net/http"
	"net/http/pprof"
)

// withPprof adds Go's profiler (/debug/pprof/) to the admin listener's
// handler; serve --pprof asks for it (off by default: a profile shows
// the process's internals, and the admin listener is plain HTTP).
func withPprof(admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", admin)
	return mux
}
