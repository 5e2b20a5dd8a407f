package view

import (
	"embed"
	"io/fs"
)

// distFiles is the build output of web/ (see build.sh). "all:" keeps the
// committed dist/.gitkeep in the pattern, so the embed never matches
// nothing on a clone where the view was not built.
//
//go:embed all:dist
var distFiles embed.FS

// builtFiles is dist/ as the root of a file system.
func builtFiles() fs.FS {
	sub, err := fs.Sub(distFiles, "dist")
	if err != nil {
		panic("view: embedded dist: " + err.Error()) // fs.Sub fails only on an invalid path
	}
	return sub
}

// Built reports whether the embedded view was built (dist/index.html exists).
// When it was not, the handler serves a page that says how to build it.
func Built() bool {
	return isBuilt(builtFiles())
}

func isBuilt(fsys fs.FS) bool {
	_, err := fs.Stat(fsys, indexFile)
	return err == nil
}
