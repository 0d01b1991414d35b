// Package translations embeds luxncp's versioned terminology data: the eHDSI
// Master Value Catalogue (MVC) value sets the Patient Summary, ePrescription
// and eDispensation templates bind, the Luxembourg → MVC mappings, the display
// translations and the coded-element bindings. manifest.json names every
// file with its source, version and licence. The data is parsed by
// internal/terminology; the files under mvc/ are written by
// `luxncp terminology import` and must not be edited by hand.
package translations

import "embed"

// FS holds manifest.json and every file it names, plus the licensed/ slot
// (eHDSI CTS exports dropped there at build time are embedded as well).
//
//go:embed manifest.json *.csv mvc licensed
var FS embed.FS
