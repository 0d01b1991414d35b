//go:build race

package testutil

// Race is true when the tests run under the race detector, which slows
// goroutines down and changes how much arrives and is allocated before a
// limit bites: memory-bound assertions hold for the normal run only.
const Race = true
