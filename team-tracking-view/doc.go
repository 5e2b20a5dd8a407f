// Package view serves the team tracking map: the browser app in web/,
// built by build.sh into dist/ and embedded here with go:embed.
//
// The api-gateway mounts [Handler] (or [New] with its own [Config]) at the
// root of its URL space. The handler serves "/" and "/index.html" (the page)
// and "/assets/..." (scripts, styles, images, each with a content hash in
// its name); the page itself opens GET /tracking/{strategy}/{team} on the
// same origin, which the gateway routes to the tracking services.
//
// The built files are not committed. On a fresh clone dist/ holds only a
// placeholder, so the package still compiles; the handler then answers the
// page with a short "not built" notice naming the command that builds it
// (see [Built]).
package view
