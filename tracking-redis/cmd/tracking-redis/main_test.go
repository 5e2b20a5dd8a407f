package main

import (
	"testing"

	"github.com/teamtrack/tracking-core/config"
	"github.com/teamtrack/tracking-core/config/configtest"
	"github.com/teamtrack/tracking-core/service"
)

// The README's configuration table documents every variable this binary
// reads, with its default, and nothing it does not read.
func TestREADME(t *testing.T) {
	env := config.Map(nil)
	service.ReadSettings(env, ":8081")
	configure(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	configtest.CheckREADME(t, "tracking-redis", env.Vars())
}
