module github.com/teamtrack/api-gateway

go 1.26

require (
	github.com/teamtrack/team-tracking-view v0.0.0
	github.com/teamtrack/tracking-core v0.0.0
)

replace github.com/teamtrack/tracking-core => ../tracking-core

replace github.com/teamtrack/team-tracking-view => ../team-tracking-view
