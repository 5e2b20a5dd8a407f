package main

import (
	"testing"

	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
)

// The README's configuration table documents every variable the local run
// reads, with its default, and nothing it does not read.
func TestREADME(t *testing.T) {
	e := config.Map(nil)
	readConfig(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	configtest.CheckREADME(t, "platform", e.Vars())
}
