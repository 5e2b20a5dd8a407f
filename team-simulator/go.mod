module github.com/teamtrack/team-simulator

go 1.26

require github.com/teamtrack/tracking-core v0.0.0

replace github.com/teamtrack/tracking-core => ../tracking-core
