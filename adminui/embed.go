// Package adminui holds the admin portal, a React single-page app built
// by Vite into dist/ (`make ui`), embedded into the convertor binary so
// that the admin API serves it at /admin/ with nothing else to deploy.
//
// A binary built without Node embeds only dist/.placeholder; Built then
// reports false and the admin API serves a page saying how to build the
// portal.
package adminui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built portal: index.html at its root, the hashed
// assets under assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: this cannot happen
	}
	return sub
}

// Built reports whether fsys holds a built portal (an index.html).
func Built(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, "index.html")
	return err == nil
}
