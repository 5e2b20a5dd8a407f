// Package testsupport holds the helpers that tests of every module share:
// the guard for tests that need a real server (skip on a laptop, fail in CI),
// free loopback ports, a buffer that is safe to read while a goroutine writes,
// and polling for a condition instead of sleeping.
package testsupport
